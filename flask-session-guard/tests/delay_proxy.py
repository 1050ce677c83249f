"""A small TCP proxy that can delay every byte, for network-fault tests.

    python -m tests.delay_proxy LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS

Forwards each connection to the target. SIGUSR1 turns the delay on (each chunk
is held ``DELAY_MS / 2`` in each direction, so a round trip takes ``DELAY_MS``
longer, order kept), SIGUSR2 turns it off. It stands in for netem's delay on
kernels without netem. Prints ``ready`` once it listens; SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import signal
import sys


class Delay:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.on = False

    def now(self) -> float:
        return self.seconds / 2 if self.on else 0.0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: Delay) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while True:
            chunk = await reader.read(65536)
            queue.put_nowait((loop.time() + delay.now(), chunk))
            if not chunk:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()
        writer.close()


async def _main(listen: str, port: int, target: str, target_port: int, delay: Delay) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(target, target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, server_w, delay), _pipe(server_r, client_w, delay))

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, lambda: setattr(delay, "on", True))
    loop.add_signal_handler(signal.SIGUSR2, lambda: setattr(delay, "on", False))
    server = await asyncio.start_server(handle, listen, port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    host, port, target, target_port, delay_ms = sys.argv[1:6]
    asyncio.run(_main(host, int(port), target, int(target_port), Delay(int(delay_ms) / 1000)))
