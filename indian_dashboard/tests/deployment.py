"""What the deploy tests share: the shipped deploy/ files, a test CA and certificate, an
HTTPS client that trusts it, and a wait for a TLS server."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENV_FILE = DEPLOY / "systemd" / "indian-dashboard.env"


def shipped_env() -> dict[str, str]:
    """The settings of deploy/systemd/indian-dashboard.env (KEY=VALUE lines)."""
    env: dict[str, str] = {}
    for line in ENV_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    return env


def port_of(url: str) -> int:
    """The port of ``http://host:port``."""
    return int(url.rsplit(":", 1)[1])


def https_client(ca: Path) -> requests.Session:
    """A client that trusts the test CA ``ca`` (and ignores the environment's CA bundle,
    which would win over ``verify``) and no proxy."""
    client = requests.Session()
    client.trust_env = False
    client.verify = str(ca)
    return client


def wait_for_tls(
    port: int, ca: Path, process: subprocess.Popen[bytes], log: Callable[[], str], name: str
) -> None:
    """Wait (10 s at most) until ``process`` completes a TLS handshake on ``port`` that
    ``ca`` vouches for; raise with its ``log()`` if it exits or never does."""
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log()}")
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1"),
            ):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not answer within 10 s:\n{log()}")


@dataclass(frozen=True)
class Certificate:
    """A test CA and a server certificate for 127.0.0.1 and localhost, signed by it."""

    ca: Path
    chain: Path
    key: Path


def make_certificate(folder: Path) -> Certificate:
    """Write ``ca.pem``, ``fullchain.pem`` and ``privkey.pem`` (0600) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "deploy test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = Certificate(folder / "ca.pem", folder / "fullchain.pem", folder / "privkey.pem")
    paths.ca.write_bytes(ca.public_bytes(pem))
    paths.chain.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    fd = os.open(paths.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
    return paths
