"""The PNG of ``bench/results.json``: requests per second by app and endpoint."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["apps"])
    labels = [textwrap.fill(results["apps"][n], 18) for n in names]
    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    width = 0.38
    for offset, (endpoint, verb) in zip(
        (-width / 2, width / 2), (("read", "GET /read"), ("write", "POST /write")), strict=True
    ):
        rps = [results["http"][n][endpoint]["rps"] for n in names]
        medians = [r["median"] for r in rps]
        errors = [
            [m - r["min"] for m, r in zip(medians, rps, strict=True)],
            [r["max"] - m for m, r in zip(medians, rps, strict=True)],
        ]
        xs = [i + offset for i in range(len(names))]
        bars = ax.bar(xs, medians, width, yerr=errors, capsize=3, label=verb)
        ax.bar_label(bars, labels=[f"{m:,.0f}" for m in medians], fontsize=7, padding=2)
    ax.set_xticks(range(len(names)), labels, fontsize=8)
    ax.set_ylabel("requests per second (median of rounds; bars: min-max)")
    settings = results["settings"]
    ax.set_title(
        f"gunicorn, {settings['workers']} sync workers; wrk, {settings['connections']} connections;"
        f" {results['machine']['cores']} cores"
    )
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json")
    target = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/img/benchmarks.png")
    plot(json.loads(source.read_text()), target)
