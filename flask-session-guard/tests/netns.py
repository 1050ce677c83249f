"""Two network namespaces of a test's own joined by a veth pair, and faults on the link.

``app`` holds ``10.231.0.1/30`` and ``redis`` holds ``10.231.0.2/30``: private
addresses that exist only inside these namespaces (nothing on the machine's own
network changes). Faults, on the egress of both ends:

- loss: an HTB qdisc whose classic-BPF filter sends a random share of packets to
  a class whose queue holds nothing (``pfifo limit 0``), so they are dropped
  (these kernels have no netem, gact or matchall);
- silent drop: the same filter sending every packet there;
- link down: ``ip link set ... down``.

Creating namespaces needs root (CI runs as root); when it fails,
:meth:`NetworkPair.create` raises with the reason instead of letting a test skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

APP_ADDRESS = "10.231.0.1"
REDIS_ADDRESS = "10.231.0.2"
_DROP_CLASS = 0x00010002  # 1:2, the class whose queue holds nothing
#: Classic BPF: A = random; A %= 100; if A < PERCENT return 1:2 else return 0 (default).
_LD_RANDOM = 0xFFFFF038  # SKF_AD_OFF + SKF_AD_RANDOM


class NamespaceError(RuntimeError):
    """The machine cannot make the namespaces or the faults (not root, no veth...)."""


def _bpf_below(percent: int) -> str:
    program = [
        (0x20, 0, 0, _LD_RANDOM),  # ld [rand]
        (0x94, 0, 0, 100),  # mod #100
        (0x35, 1, 0, percent),  # jge #percent -> default, else drop class
        (0x06, 0, 0, _DROP_CLASS),  # ret 1:2
        (0x06, 0, 0, 0),  # ret 0: the qdisc's default class
    ]
    return f"{len(program)}," + ",".join(f"{c} {jt} {jf} {k}" for c, jt, jf, k in program)


class NetworkPair:
    """Namespaces ``app`` and ``redis`` (names unique to this process) and their link."""

    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}"
        self.app = f"fsg-app-{tag}"
        self.redis = f"fsg-redis-{tag}"
        self.devices = {self.app: f"fsga{tag}", self.redis: f"fsgr{tag}"}
        self.created = False

    def _ip(self, *args: str) -> None:
        done = subprocess.run(
            ["ip", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            raise NamespaceError(f"ip {' '.join(args)}: {done.stderr.strip()}")

    def _tc(self, namespace: str, *args: str, check: bool = True) -> None:
        done = subprocess.run(
            ["ip", "netns", "exec", namespace, "tc", *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            raise NamespaceError(f"tc {' '.join(args)}: {done.stderr.strip()}")

    def create(self) -> None:
        try:
            self._ip("netns", "add", self.app)
            self.created = True
            self._ip("netns", "add", self.redis)
            app_dev, redis_dev = self.devices[self.app], self.devices[self.redis]
            self._ip("link", "add", app_dev, "type", "veth", "peer", "name", redis_dev)
            self._ip("link", "set", app_dev, "netns", self.app)
            self._ip("link", "set", redis_dev, "netns", self.redis)
            for namespace, address in ((self.app, APP_ADDRESS), (self.redis, REDIS_ADDRESS)):
                device = self.devices[namespace]
                self._ip("-n", namespace, "addr", "add", f"{address}/30", "dev", device)
                self._ip("-n", namespace, "link", "set", device, "up")
                self._ip("-n", namespace, "link", "set", "lo", "up")
                # HTB: class 1:1 (default) passes everything, 1:2 leads to a queue of
                # length 0. Faults only change which packets the filter sends to 1:2.
                self._tc(namespace, "qdisc", "add", "dev", device, "root", "handle", "1:", "htb",
                         "default", "1")  # fmt: skip
                self._tc(namespace, "class", "add", "dev", device, "parent", "1:", "classid",
                         "1:1", "htb", "rate", "10gbit", "quantum", "200000")  # fmt: skip
                self._tc(namespace, "class", "add", "dev", device, "parent", "1:", "classid",
                         "1:2", "htb", "rate", "1kbit", "quantum", "1514")  # fmt: skip
                self._tc(namespace, "qdisc", "add", "dev", device, "parent", "1:2", "handle",
                         "2:", "pfifo", "limit", "0")  # fmt: skip
        except (NamespaceError, OSError) as err:
            self.destroy()
            raise NamespaceError(
                f"cannot create the test's network namespaces (root and iproute2's ip/tc"
                f" are needed): {err}"
            ) from err

    def command(self, namespace: str, args: Sequence[str]) -> list[str]:
        """``args`` run inside ``namespace``."""
        return ["ip", "netns", "exec", namespace, *args]

    def loss(self, percent: int) -> None:
        """Drop ``percent`` % of the packets each way (0: none, 100: every one)."""
        for namespace, device in self.devices.items():
            self._tc(namespace, "filter", "del", "dev", device, "parent", "1:", check=False)
            if percent > 0:
                program = _bpf_below(min(percent, 100))
                self._tc(namespace, "filter", "add", "dev", device, "parent", "1:", "bpf",
                         "bytecode", program, "classid", "1:1")  # fmt: skip

    def link(self, up: bool) -> None:
        self._ip("-n", self.redis, "link", "set", self.devices[self.redis], "up" if up else "down")

    def dropped(self) -> int:
        """Packets the zero-length queues dropped so far (both ends)."""
        total = 0
        for namespace, device in self.devices.items():
            done = subprocess.run(
                ["ip", "netns", "exec", namespace, "tc", "-s", "qdisc", "show", "dev", device],
                capture_output=True,
                text=True,
                check=True,
            )
            lines = done.stdout.splitlines()
            for i, line in enumerate(lines):
                if line.startswith("qdisc pfifo 2:") and i + 1 < len(lines):
                    total += int(lines[i + 1].split("dropped ")[1].split(",")[0])
        return total

    def destroy(self) -> None:
        """Remove both namespaces (their veth ends go with them). Processes inside must
        have been stopped first."""
        if not self.created:
            return
        for namespace in (self.app, self.redis):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        self.created = False
