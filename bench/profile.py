"""``python -m bench.profile APP ENDPOINT [N]``: where one app's request time goes (pyinstrument).

Runs N requests (default 3000) of ``read`` or ``write`` under the framework's test
client against a private redis-server, and prints pyinstrument's call tree.
"""

from __future__ import annotations

import sys

from pyinstrument import Profiler

from .apps import BY_NAME, BenchEnv
from .clients import InProcessClient
from .run import private_redis


def main(argv: list[str]) -> None:
    name, endpoint = argv[0], argv[1]
    numbers = [a for a in argv[2:] if a.isdigit()]
    n = int(numbers[0]) if numbers else 3000
    spec = BY_NAME[name]
    with private_redis() as (server, workdir):
        client = InProcessClient(
            spec, spec.build(BenchEnv(f"redis://127.0.0.1:{server.port}", workdir))
        )
        client.start()
        call = client.read if endpoint == "read" else client.write
        for _ in range(200):
            call()
        profiler = Profiler(interval=0.0001)
        profiler.start()
        for _ in range(n):
            call()
        profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all="--all" in sys.argv))


if __name__ == "__main__":
    main(sys.argv[1:])
