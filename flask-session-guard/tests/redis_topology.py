"""Redis deployments of a test's own: Sentinel (master, replicas, three Sentinels),
a Cluster (three masters with replicas) and TLS material (a test CA and certificates).

Every process listens on a free loopback port in the test's directory and is
stopped by its pid. Timeouts are short (a master is down after 500 ms for the
Sentinels, a cluster node after 1 s) so that failovers finish within seconds.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .processes import free_port, stop_process
from .redis_server import RedisServer, TlsFiles

SERVICE = "sessions"
#: A replica (or a demoted master) syncs at once instead of after Redis's 5 s delay.
_FAST_SYNC = ["--repl-diskless-sync-delay", "0"]
REDIS_SENTINEL = "/usr/bin/redis-sentinel"
REDIS_CLI = "/usr/bin/redis-cli"


def _binary(path: str, name: str) -> str:
    found = path if Path(path).exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: run `make system-deps` (Debian's {name})")
    return found


def wait_for(what: str, check: Callable[[], bool], timeout: float = 20.0) -> float:
    """Poll ``check`` until it is true; the seconds it took. A clear failure after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


# -- TLS ------------------------------------------------------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_ca(
    directory: Path, name: str = "ca"
) -> tuple[Path, x509.Name, ec.EllipticCurvePrivateKey]:
    """A self-signed test CA: its PEM file, name and key."""
    directory.mkdir(parents=True, exist_ok=True)
    key = _key()
    cert = _certificate(f"session-guard test {name}", key, None, ca=True)
    path = directory / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert.subject, key


def tls_files(directory: Path) -> TlsFiles:
    """A test CA, a server certificate for 127.0.0.1 and a client certificate."""
    ca_path, ca_name, ca_key = make_ca(directory)
    made: dict[str, Path] = {}
    for role in ("server", "client"):
        key = _key()
        cert = _certificate(f"redis {role}", key, (ca_name, ca_key))
        made[f"{role}_cert"] = directory / f"{role}.pem"
        made[f"{role}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        made[f"{role}_key"] = directory / f"{role}.key"
        _write_key(key, made[f"{role}_key"])
    return TlsFiles(ca=ca_path, **made)


# -- Sentinel -------------------------------------------------------------------------


class SentinelDeployment:
    """A master, ``replicas`` replicas of it and three Sentinels watching it."""

    def __init__(self, directory: Path, *, replicas: int = 2, appendonly: bool = True) -> None:
        self.directory = directory
        self.master = RedisServer(
            directory / "master", appendonly=appendonly, extra_args=_FAST_SYNC
        )
        self.replicas = [
            RedisServer(directory / f"replica{i}", appendonly=appendonly, extra_args=_FAST_SYNC)
            for i in range(replicas)
        ]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def servers(self) -> list[RedisServer]:
        return [self.master, *self.replicas]

    def url(self, *, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/{db}"

    def start(self) -> None:
        try:
            self.master.start()
            for replica in self.replicas:
                replica.extra_args += ["--replicaof", "127.0.0.1", str(self.master.port)]
                replica.start()
            self.wait_replicated(self.master, len(self.replicas))
            for port in self.sentinel_ports:
                self._start_sentinel(port)
            wait_for("Sentinels see each other and the replicas", self._sentinels_ready)
        except BaseException:
            self.stop()
            raise

    def _start_sentinel(self, port: int) -> None:
        folder = self.directory / f"sentinel{port}"
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "sentinel.conf"
        config.write_text(
            "\n".join(
                [
                    f"port {port}",
                    "bind 127.0.0.1",
                    f"dir {folder}",
                    f"logfile {folder / 'sentinel.log'}",
                    f"sentinel monitor {SERVICE} 127.0.0.1 {self.master.port} 2",
                    f"sentinel down-after-milliseconds {SERVICE} 500",
                    f"sentinel failover-timeout {SERVICE} 5000",
                    f"sentinel parallel-syncs {SERVICE} 2",
                    "",
                ]
            )
        )
        self.sentinels.append(
            subprocess.Popen(
                [_binary(REDIS_SENTINEL, "redis-sentinel"), str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        )

    def sentinel_client(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=1)

    def _sentinels_ready(self) -> bool:
        for port in self.sentinel_ports:
            with self.sentinel_client(port) as client:
                state = client.sentinel_master(SERVICE)
                if int(state["num-other-sentinels"]) < 2 or int(state["num-slaves"]) < len(
                    self.replicas
                ):
                    return False
        return True

    def master_address(self) -> tuple[str, int]:
        """The master the Sentinels name now."""
        with self.sentinel_client(self.sentinel_ports[0]) as client:
            host, port = client.sentinel_get_master_addr_by_name(SERVICE)
        return host, int(port)

    def masters(self) -> dict[str, RedisServer]:
        """The master the Sentinels name, by its address."""
        host, port = self.master_address()
        return {f"{host}:{port}": self.server_on(port)}

    def server_on(self, port: int) -> RedisServer:
        return next(s for s in self.servers if s.port == port)

    @staticmethod
    def wait_replicated(master: RedisServer, replicas: int) -> None:
        def ready() -> bool:
            info = master.client(timeout=1).info("replication")
            online = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
            return sum(1 for v in online if v.get("state") == "online") >= replicas

        wait_for(f"{replicas} replicas online", ready)

    def stop(self) -> None:
        for process in self.sentinels:
            stop_process(process)
        self.sentinels = []
        for server in self.servers:
            server.stop()


# -- Cluster --------------------------------------------------------------------------


def _cluster_state(node: RedisServer) -> str:
    reply = node.client(timeout=1).execute_command("CLUSTER", "INFO")  # type: ignore[no-untyped-call]
    text = reply if isinstance(reply, str) else "\n".join(f"{k}:{v}" for k, v in reply.items())
    for line in text.splitlines():
        if line.startswith("cluster_state:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


class ClusterDeployment:
    """``nodes`` redis-servers made into a cluster of three masters, one replica each
    (a seventh node is a second replica of one of them)."""

    def __init__(
        self,
        directory: Path,
        *,
        nodes: int = 6,
        node_timeout_ms: int = 1000,
        appendonly: bool = True,
    ) -> None:
        self.nodes = [
            RedisServer(
                directory / f"node{i}",
                appendonly=appendonly,
                extra_args=[
                    *_FAST_SYNC,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(node_timeout_ms),
                    # The bus port, free too (not PORT + 10000, which may be taken or too high).
                    "--cluster-port",
                    str(free_port()),
                ],
            )
            for i in range(nodes)
        ]

    def url(self) -> str:
        hosts = ",".join(n.address for n in self.nodes[:3])
        return f"redis+cluster://{hosts}"

    def start(self) -> None:
        try:
            for node in self.nodes:
                node.start()
            self.cli(
                "--cluster",
                "create",
                *(n.address for n in self.nodes),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            )
            wait_for("cluster state ok on every node", self.healthy)
        except BaseException:
            self.stop()
            raise

    def cli(self, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            [_binary(REDIS_CLI, "redis-cli"), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"redis-cli {' '.join(args[:2])} failed:\n{done.stdout}{done.stderr}"
            )
        return done.stdout

    def running(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.process is not None]

    def healthy(self) -> bool:
        return all(_cluster_state(n) == "ok" for n in self.running())

    def topology(self) -> dict[str, dict[str, Any]]:
        """Node id -> flags, address, master id and slot count, as a live node sees it."""
        node = self.running()[0]
        found: dict[str, dict[str, Any]] = {}
        for line in node.client(timeout=1).execute_command("CLUSTER", "NODES").splitlines():  # type: ignore[no-untyped-call]
            parts = line.split()
            slots = 0
            for item in parts[8:]:
                if item.startswith("["):
                    continue
                low, _, high = item.partition("-")
                slots += int(high or low) - int(low) + 1
            found[parts[0]] = {
                "address": parts[1].split("@")[0],
                "flags": set(parts[2].split(",")),
                "master": parts[3],
                "slots": slots,
            }
        return found

    def masters(self) -> dict[str, RedisServer]:
        """Node id -> server, for every live master that serves slots."""
        by_address = {n.address: n for n in self.running()}
        return {
            node_id: by_address[info["address"]]
            for node_id, info in self.topology().items()
            if "master" in info["flags"]
            and "fail" not in info["flags"]
            and info["slots"]
            and info["address"] in by_address
        }

    def replicas_of(self, master_id: str) -> list[str]:
        return [
            node_id
            for node_id, info in self.topology().items()
            if info["master"] == master_id and "fail" not in info["flags"]
        ]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
