#!/usr/bin/env python3
"""Minutes of mixed load on the PostgreSQL + Redis (two_level) variant: nothing lost.

Renders the variant from this repo (working tree included), serves it, and runs
bench/soak_client.py against it: 70 % reads, 20 % creates, 10 % updates with
versions, by several principals, the rate limit set high. Reports the answers
other than 2xx, 409 and 429 (must be none), the creates answered 201 against the
rows in the database (must match), p99 per minute, the server's RSS at minute 1
and at the end (growth under 20 %), and the connections open at the end.
Exits 0 when all of that holds, 1 when it does not, 2 on a setup failure.

    python3 bench/soak.py                 # 5 minutes
    python3 bench/soak.py --seconds 60    # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    BENCH,
    SetupError,
    child_env,
    discard,
    find_tools,
    generate,
    group_processes,
    log,
    start_server,
)
from targets import PACKAGE, POSTGRES_URL, Databases, Variant

SOAK = Variant("soak", (("database", "postgresql"), ("cache", "two_level")))
MAX_RSS_GROWTH = 0.20
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pgid: int) -> int:
    """Resident memory of the server's process group."""
    return sum(int(fields[21]) for fields in group_processes(pgid)) * PAGE_SIZE


class RssSampler(threading.Thread):
    def __init__(self, pgid: int, every_s: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.pgid, self.every_s = pgid, every_s
        self.samples: list[tuple[float, int]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.stopped.wait(self.every_s):
            self.samples.append((time.monotonic() - started, rss_bytes(self.pgid)))

    def at(self, seconds: float) -> int:
        return min(self.samples, key=lambda sample: abs(sample[0] - seconds))[1]


def psql(database: str, sql: str) -> str:
    url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{database}"
    return subprocess.run(
        ["psql", url, "-tAc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


def redis_clients() -> int | None:
    try:
        info = subprocess.run(
            ["redis-cli", "info", "clients"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in info.splitlines():
        if line.startswith("connected_clients:"):
            return int(line.split(":")[1])
    return None


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300, help="default: 300")
    parser.add_argument("--connections", type=int, default=32, help="default: 32")
    parser.add_argument("--principals", type=int, default=8, help="default: 8")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--keep", action="store_true", help="keep the tmp dir")
    return parser.parse_args()


def soak(args: argparse.Namespace, tmp: Path, databases: Databases) -> dict[str, Any]:
    tools = find_tools(tmp, "python", install=False)
    url = databases.url(SOAK)
    database = url.rsplit("/", 1)[1]
    env = child_env(
        {
            "APP_DATABASE_URL": url,
            # High enough for the load, low enough that the limiter counts in Redis.
            "APP_RATE_LIMIT_PER_MINUTE": "1000000",
            "APP_CACHE_KEY_PREFIX": f"soak-{os.getpid()}",
        }
    )
    project = tmp / SOAK.name
    generate(tools, project, dict(SOAK.answers), env, ["uvicorn"])
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = (cpus[0], cpus[1]) if len(cpus) > 1 else (None, None)
    redis_before = redis_clients()
    server = start_server(
        "soak",
        "uvicorn",
        f"{PACKAGE}.main:create_app",
        project,
        tmp,
        tools,
        env,
        server_cpu,
    )
    sampler = RssSampler(server.process.pid)
    try:
        sampler.start()
        log(f"soaking for {args.seconds:g} s with {args.connections} connections")
        client = subprocess.Popen(
            [
                str(project / ".venv" / "bin" / "python"),
                str(BENCH / "soak_client.py"),
                "--url",
                server.url(""),
                "--seconds",
                str(args.seconds),
                "--connections",
                str(args.connections),
                "--principals",
                str(args.principals),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Pinned after the start (no preexec_fn: the sampler thread is running).
        if client_cpu is not None:
            os.sched_setaffinity(client.pid, {client_cpu})
        out, err = client.communicate()
        if client.returncode != 0:
            raise SetupError(f"the soak client failed:\n{err[-2000:]}")
        load = json.loads(out)
        sampler.stopped.set()
        sampler.join()
        rss_end = rss_bytes(server.process.pid)
        open_pg = int(
            psql(
                "postgres",
                f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'",
            )
        )
        redis_after = redis_clients()
        if server.process.poll() is not None:
            raise SetupError(f"the server died:\n{server.stderr_tail()}")
    finally:
        sampler.stopped.set()
        server.stop()
    rows = int(psql(database, "SELECT count(*) FROM users"))
    rss_minute_1 = sampler.at(60.0) if sampler.samples else rss_end
    growth = (rss_end - rss_minute_1) / rss_minute_1
    return {
        "seconds": args.seconds,
        "connections": args.connections,
        "principals": args.principals,
        "load": load,
        "rows": rows,
        "rss_minute_1_mb": round(rss_minute_1 / 2**20, 1),
        "rss_end_mb": round(rss_end / 2**20, 1),
        "rss_growth": round(growth, 3),
        "open_postgres_connections": open_pg,
        "open_redis_connections": (
            redis_after - redis_before
            if redis_after is not None and redis_before is not None
            else None
        ),
        "checks": {
            "no unexpected answers": load["unexpected_count"] == 0,
            "201s match the rows": load["created"] == rows,
            f"RSS growth < {MAX_RSS_GROWTH:.0%}": growth < MAX_RSS_GROWTH,
        },
    }


def print_report(report: dict[str, Any]) -> None:
    load = report["load"]
    print(
        f"soak: {report['seconds']:g} s, {report['connections']} connections, "
        f"{report['principals']} principals, PostgreSQL + Redis (two_level)"
    )
    print(f"answers: {load['statuses']}")
    print(f"unexpected answers: {load['unexpected_count']}")
    for sample in load["unexpected"]:
        print(f"  {sample}")
    print(
        f"creates answered 201: {load['created']}; rows in the database: {report['rows']}"
    )
    for minute in load["minutes"]:
        print(
            f"minute {minute['minute']}: {minute['requests']} requests, "
            f"p50 {minute['p50_ms']} ms, p99 {minute['p99_ms']} ms"
        )
    print(
        f"RSS: {report['rss_minute_1_mb']} MiB at minute 1, "
        f"{report['rss_end_mb']} MiB at the end ({report['rss_growth']:+.1%})"
    )
    print(
        f"open at the end: {report['open_postgres_connections']} PostgreSQL "
        f"connections, {report['open_redis_connections']} Redis connections"
    )
    for check, passed in report["checks"].items():
        print(f"{'ok  ' if passed else 'FAIL'} {check}")


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="backend-architect-soak-"))
    databases = Databases(tmp)
    try:
        report = soak(args, tmp, databases)
    except SetupError as exc:
        log(f"setup failed: {exc}")
        return 2
    finally:
        databases.drop()
        discard(tmp, args.keep)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0 if all(report["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
