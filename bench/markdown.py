#!/usr/bin/env python3
"""The Markdown table of a `run.py --json` report, as docs/performance.md shows it.

python3 bench/run.py --json > bench.json
python3 bench/markdown.py bench.json
"""

from __future__ import annotations

import json
import sys
from typing import Any


def met(value: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "-"}[value]


def table(report: dict[str, Any]) -> str:
    lines = [
        "| target | req/s | p50 ms | p99 ms | errors | ratio | goal | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in report["targets"]:
        lines.append(
            f"| {row['title']} | {row['rps']:,.0f} | {row['p50_ms']:.2f} "
            f"| {row['p99_ms']:.2f} | {row['errors'] + row['non_2xx']} "
            f"| {row['ratio']:.3f}x | {row['goal']} | {met(row['met'])} |"
        )
    bases = sorted(row["baseline_rps"] for row in report["targets"])
    if bases:
        lines.append(
            f"| bare Starlette `/health/live` (baseline) | {bases[len(bases) // 2]:,.0f} "
            "| | | | 1.000x | | |"
        )
    lines.append("")
    lines.append("| time | seconds | runs | goal | met |")
    lines.append("|---|---:|---|---|---|")
    for t in report["times"]:
        runs = ", ".join(f"{s:g}" for s in t.get("runs", [])) or t.get("summary", "")
        extra = ""
        if "baseline_seconds" in t:
            extra = f" (bare Starlette {t['baseline_seconds']:g} s)"
        if "first_seconds" in t:
            extra = f" (the first on a machine {t['first_seconds']:g} s)"
        lines.append(
            f"| {t['target']}{extra} | {t['seconds']:g} | {runs} | {t['goal']} "
            f"| {met(t['met'])} |"
        )
    config = report["config"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(config["versions"].items()))
    lines.append("")
    lines.append(
        f"Load: {config['loadgen']}, {config['connections']} connections, "
        f"{config['rounds']} rounds of {config['duration_s']} s per target and "
        f"baseline; server and load pinned to CPUs {config['pinned_cpus']}. "
        f"Versions: {versions}."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        print(table(json.load(handle)))
