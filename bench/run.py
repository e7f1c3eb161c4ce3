#!/usr/bin/env python3
"""Issue 18's targets, measured in one run against bare Starlette on the same server.

Renders the variants the selected targets need (this repo's working tree included),
serves each, and loads it in turn with a bare Starlette app serving /health/live
(target, baseline, target, baseline, ...). A target's ratio is its requests/s over
the baseline's in the same rounds. Then the cold start (process start to the first
200), `copier copy` and the default service's `make test`. Prints one table, or
JSON with --json. A measurement tool: it exits 0 whatever the numbers.
Flags: bench/README.md or `python3 bench/run.py --help`.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    BENCH,
    NOISY_OTHER_CORES,
    LoadGenerator,
    Sample,
    Server,
    SetupError,
    Tools,
    _drain_log,
    child_env,
    copier_copy,
    discard,
    find_tools,
    free_port,
    generate,
    load,
    log,
    measured_load,
    pinned,
    request,
    server_command,
    start_server,
    versions,
    wait_for_quiet,
)
from targets import (
    DEFAULT,
    FASTAPI,
    HEALTH,
    LIST,
    PACKAGE,
    TARGETS,
    Databases,
    Target,
    Variant,
    credentials,
    seed,
)

EXTRA = ("cold-start", "copier-copy", "make-test")
COLD_START_GOAL_S = 1.0
COPY_GOAL_S = 2.5
MAKE_TEST_GOAL_S = 45.0


@dataclass
class Measured:
    """The rounds of one target on one server, and the baseline's beside them."""

    server: str
    target: Target
    samples: list[Sample] = field(default_factory=list)
    baseline: list[Sample] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        rps = statistics.median(s.rps for s in self.samples)
        base = statistics.median(s.rps for s in self.baseline)
        p99 = statistics.median(s.p99_ms for s in self.samples)
        ratio = rps / base if base else 0.0
        goal, goal_ratio = self.target.goal_p99_ms, self.target.goal_ratio
        return {
            "server": self.server,
            "target": self.target.id,
            "title": self.target.title,
            "path": self.target.path,
            "rps": round(rps, 1),
            "p50_ms": round(statistics.median(s.p50_ms for s in self.samples), 2),
            "p99_ms": round(p99, 2),
            "errors": sum(s.errors for s in self.samples),
            "non_2xx": sum(s.non_2xx for s in self.samples),
            "baseline_rps": round(base, 1),
            "ratio": round(ratio, 3),
            "goal": (
                "reference"
                if goal_ratio is None
                else f">= {goal_ratio:.2f}x" + (f", p99 < {goal:g} ms" if goal else "")
            ),
            "met": (
                None
                if goal_ratio is None
                else ratio >= goal_ratio and (goal is None or p99 < goal)
            ),
            "rounds_rps": [round(s.rps, 1) for s in self.samples],
            "server_cores": round(
                statistics.median(s.server_cores for s in self.samples), 2
            ),
            "max_other_cores": round(
                max(s.other_cores for s in [*self.samples, *self.baseline]), 2
            ),
        }


@dataclass
class Run:
    args: argparse.Namespace
    tools: Tools
    tmp: Path
    env: dict[str, str]
    cpus: tuple[int | None, int | None]
    projects: dict[Variant, Path] = field(default_factory=dict)
    envs: dict[Variant, dict[str, str]] = field(default_factory=dict)
    headers: dict[Variant, dict[str, str]] = field(default_factory=dict)

    def sample(self, server: Server, url: str, headers: dict[str, str]) -> Sample:
        # bench/loadgen.py, when wrk is missing, runs on a generated project's uvloop.
        python = next(iter(self.projects.values())) / ".venv" / "bin" / "python"
        generator = LoadGenerator(
            self.tools, python, self.tmp, self.args.connections, self.cpus[1]
        )
        wait_for_quiet(self.args.quiet_wait)
        if self.args.warmup > 0:
            load(generator, url, self.args.warmup, headers)
        sample = measured_load(server, generator, url, self.args.duration, headers)
        if server.process.poll() is not None:
            raise SetupError(f"{server.name} died under load:\n{server.stderr_tail()}")
        _drain_log(server.stdout_path)
        return sample


# ----------------------------------------------------------------------- variants


def prepare(run: Run, variants: list[Variant], databases: Databases) -> None:
    for variant in variants:
        project = run.tmp / variant.name
        env = {**run.env, "APP_DATABASE_URL": databases.url(variant)}
        generate(run.tools, project, dict(variant.answers), env, run.args.servers)
        run.projects[variant] = project
        run.envs[variant] = env


def start(run: Run, kind: str, variant: Variant) -> Server:
    project = run.projects[variant]
    server = start_server(
        f"{variant.name}-{kind}",
        kind,
        f"{PACKAGE}.main:create_app",
        project,
        run.tmp,
        run.tools,
        run.envs[variant],
        run.cpus[0],
    )
    if variant not in run.headers:
        headers = credentials(variant, server, project, run.tools, run.envs[variant])
        seed(server, headers)
        run.headers[variant] = headers
    return server


def start_baseline(run: Run, kind: str, service: Server) -> Server:
    """Bare Starlette serving the bytes the service answers on /health/live."""
    status, content_type, body = request(service.port, "GET", HEALTH)
    responses = run.tmp / "baseline-responses.json"
    responses.write_text(
        json.dumps(
            [
                {
                    "path": HEALTH,
                    "status": status,
                    "content_type": content_type,
                    "body_b64": base64.b64encode(body).decode(),
                }
            ]
        )
    )
    env = {
        **run.env,
        "PYTHONPATH": str(BENCH),
        "BENCH_BASELINE_RESPONSES": str(responses),
    }
    project = next(iter(run.projects.values()))
    return start_server(
        f"baseline-{kind}",
        kind,
        "baseline:create_app",
        project,
        run.tmp,
        run.tools,
        env,
        run.cpus[0],
    )


def measure(run: Run, kind: str, targets: list[Target]) -> list[Measured]:
    results: list[Measured] = []
    baseline: Server | None = None
    try:
        for variant in dict.fromkeys(target.variant for target in targets):
            service = (
                start_ceiling(run, kind)
                if variant == FASTAPI
                else start(run, kind, variant)
            )
            try:
                if baseline is None:
                    baseline = start_baseline(run, kind, service)
                for target in (t for t in targets if t.variant == variant):
                    headers = run.headers.get(variant, {})
                    results.append(
                        rounds(run, kind, target, service, baseline, headers)
                    )
            finally:
                service.stop()
    finally:
        if baseline is not None:
            baseline.stop()
    return results


def rounds(
    run: Run,
    kind: str,
    target: Target,
    service: Server,
    baseline: Server,
    headers: dict[str, str],
) -> Measured:
    measured = Measured(kind, target)
    for round_no in range(1, run.args.rounds + 1):
        own = run.sample(service, service.url(target.path), headers)
        base = run.sample(baseline, baseline.url(HEALTH), {})
        measured.samples.append(own)
        measured.baseline.append(base)
        log(
            f"[{kind}] {target.id} round {round_no}: "
            f"{own.rps:,.0f} req/s (baseline {base.rps:,.0f}), "
            f"p50 {own.p50_ms:.2f} ms, p99 {own.p99_ms:.2f} ms, "
            f"errors {own.errors}, non-2xx {own.non_2xx}, "
            f"server CPU {own.server_cores:.2f}, "
            f"other CPU {max(own.other_cores, base.other_cores):.2f}"
        )
    return measured


def start_ceiling(run: Run, kind: str) -> Server:
    """bench/ceiling.py, answering the default service's 20-row list."""
    body = run.tmp / "ceiling-body.json"
    service = start(run, kind, DEFAULT)
    try:
        status, _, data = request(
            service.port, "GET", LIST, headers=run.headers[DEFAULT]
        )
    finally:
        service.stop()
    if status != 200:
        raise SetupError(f"GET {LIST} answered {status}: {data[:300]!r}")
    body.write_bytes(data)
    env = {**run.env, "PYTHONPATH": str(BENCH), "BENCH_CEILING_BODY": str(body)}
    return start_server(
        f"fastapi-{kind}",
        kind,
        "ceiling:create_app",
        run.projects[DEFAULT],
        run.tmp,
        run.tools,
        env,
        run.cpus[0],
    )


# ------------------------------------------------------------------ one-off times


def cold_start(run: Run, project: Path, target: str, env: dict[str, str]) -> float:
    """Seconds from spawning the server to its first 200 on /health/live."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        server_command("uvicorn", project, target, port),
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=pinned(run.cpus[0]),  # noqa: PLW1509 (run.py starts no threads)
    )
    server = Server("cold-start", port, process, run.tmp / "cs.out", run.tmp / "cs.err")
    try:
        while time.perf_counter() - started < 60:
            if process.poll() is not None:
                raise SetupError(f"the server exited {process.returncode} at start-up")
            try:
                if request(port, "GET", HEALTH)[0] == 200:
                    return time.perf_counter() - started
            except OSError:
                time.sleep(0.005)
        raise SetupError("the server did not answer within 60 s")
    finally:
        server.stop()


def cold_starts(run: Run) -> dict[str, Any]:
    project = run.projects[DEFAULT]
    env = {**run.envs[DEFAULT], "PYTHONPATH": str(BENCH)}
    service, bare = [], []
    for _ in range(run.args.cold_starts):
        wait_for_quiet(run.args.quiet_wait)
        service.append(cold_start(run, project, f"{PACKAGE}.main:create_app", env))
        bare.append(
            cold_start(
                run,
                project,
                "baseline:create_app",
                {
                    **env,
                    "BENCH_BASELINE_RESPONSES": str(
                        run.tmp / "baseline-responses.json"
                    ),
                },
            )
        )
    log(
        f"cold starts: service {[round(s, 2) for s in service]}, baseline {[round(s, 2) for s in bare]}"
    )
    median = statistics.median(service)
    return {
        "target": "cold-start",
        "seconds": round(median, 3),
        "baseline_seconds": round(statistics.median(bare), 3),
        "runs": [round(s, 3) for s in service],
        "goal": f"< {COLD_START_GOAL_S:g} s",
        "met": median < COLD_START_GOAL_S,
    }


def copier_copies(run: Run, count: int = 3) -> dict[str, Any]:
    """`copier copy` of the default answers, timed `count` times after the
    variants' renders (so Copier's own modules are compiled already, and the
    template's in Jinja's bytecode cache), and once more as the first copy on a
    machine: with an empty temporary folder, where that cache lives."""

    def timed(destination: Path, env: dict[str, str]) -> float:
        wait_for_quiet(run.args.quiet_wait)
        started = time.perf_counter()
        subprocess.run(
            copier_copy(run.tools, destination, {}),
            env=env,
            capture_output=True,
            check=True,
        )
        return time.perf_counter() - started

    seconds = [timed(run.tmp / f"copy-{i}", run.env) for i in range(count)]
    empty = run.tmp / "empty-tmp"
    empty.mkdir()
    first = timed(run.tmp / "copy-first", {**run.env, "TMPDIR": str(empty)})
    median = statistics.median(seconds)
    return {
        "target": "copier-copy",
        "seconds": round(median, 2),
        "first_seconds": round(first, 2),
        "runs": [round(s, 2) for s in seconds],
        "goal": f"< {COPY_GOAL_S:g} s",
        "met": median < COPY_GOAL_S,
    }


def make_test(run: Run) -> dict[str, Any]:
    """The default service's `make test`, twice: the first run also writes pytest's
    caches (rewritten test modules); the second is the developer loop's."""
    project = run.projects[DEFAULT]
    seconds: list[float] = []
    for _ in range(2):
        wait_for_quiet(run.args.quiet_wait)
        log("make test in the default service")
        started = time.perf_counter()
        result = subprocess.run(
            ["make", "test"],
            cwd=project,
            env=run.envs[DEFAULT],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds.append(time.perf_counter() - started)
        if result.returncode != 0:
            break
    passed = next(
        (line for line in reversed(result.stdout.splitlines()) if " passed" in line), ""
    )
    return {
        "target": "make-test",
        "seconds": round(seconds[-1], 1),
        "runs": [round(s, 1) for s in seconds],
        "exit": result.returncode,
        "summary": passed.strip("= "),
        "goal": f"< {MAKE_TEST_GOAL_S:g} s",
        "met": result.returncode == 0 and seconds[-1] < MAKE_TEST_GOAL_S,
    }


# ------------------------------------------------------------------------- report


def print_table(rows: list[dict[str, Any]], times: list[dict[str, Any]]) -> None:
    if rows:
        print_rows(rows)
    for t in times:
        print_time(t)


def print_rows(rows: list[dict[str, Any]]) -> None:
    header = (
        "server",
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "ratio",
        "goal",
        "met",
    )
    body = [
        (
            r["server"],
            r["title"],
            f"{r['rps']:,.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            str(r["errors"] + r["non_2xx"]),
            f"{r['ratio']:.3f}x",
            r["goal"],
            {True: "yes", False: "no", None: "-"}[r["met"]],
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    numeric = {2, 3, 4, 5, 6}

    def fmt(line: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()

    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for line in body:
        print(fmt(line))
    for server in dict.fromkeys(r["server"] for r in rows):
        bases = [r["baseline_rps"] for r in rows if r["server"] == server]
        print(
            f"baseline ({server}, bare Starlette {HEALTH}): "
            f"{statistics.median(bases):,.0f} req/s (median over the targets' rounds)"
        )
    busiest = max([r["max_other_cores"] for r in rows] or [0.0])
    if busiest > NOISY_OTHER_CORES:
        print(
            f"warning: other processes used up to {busiest:.2f} cores during a run; "
            "the numbers are noisy (see the [bench] lines on stderr)"
        )


def print_time(t: dict[str, Any]) -> None:
    if t["target"] == "cold-start":
        detail = (
            f"{t['seconds']:.2f} s (bare Starlette {t['baseline_seconds']:.2f} s), "
            f"runs {t['runs']}"
        )
    elif t["target"] == "make-test":
        detail = (
            f"{t['seconds']:.1f} s (runs {t['runs']}), exit {t['exit']}, "
            f"{t['summary']}"
        )
    else:
        detail = f"{t['seconds']:.2f} s, runs {t['runs']}"
    met = "met" if t["met"] else "not met"
    print(f"{t['target']}: {detail}; goal {t['goal']}: {met}")


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ids = [t.id for t in TARGETS] + list(EXTRA)
    parser.add_argument(
        "--targets",
        default=",".join(ids),
        help=f"comma-separated, of: {', '.join(ids)} (default: all)",
    )
    parser.add_argument(
        "--server",
        choices=["uvicorn", "granian", "both"],
        default="uvicorn",
        help="ASGI server for the service and the baseline (default: uvicorn)",
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=10,
        help="seconds per measured run (default: 10)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="seconds of unmeasured load before each run (default: 2)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="target/baseline alternations per target (default: 3)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=64,
        help="keep-alive connections (default: 64)",
    )
    parser.add_argument(
        "--cold-starts",
        type=int,
        default=5,
        help="cold starts to take the median of (default: 5)",
    )
    parser.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk (installed with apt-get if root), else bench/loadgen.py",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="never apt-get install wrk"
    )
    parser.add_argument("--no-pin", action="store_true", help="no CPU pinning")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the servers (repeatable)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="before each run, wait up to this long for an idle machine (default: 30)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON instead of the table"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the tmp dir (projects, logs)"
    )
    args = parser.parse_args()
    args.selected = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = sorted(set(args.selected) - set(ids))
    if unknown:
        parser.error(f"unknown targets: {', '.join(unknown)}")
    if (
        min(args.duration, args.rounds, args.connections, args.cold_starts) < 1
        or args.warmup < 0
    ):
        parser.error(
            "--duration, --rounds, --connections, --cold-starts >= 1; --warmup >= 0"
        )
    args.servers = ["uvicorn", "granian"] if args.server == "both" else [args.server]
    return args


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="backend-architect-bench-"))
    signal.signal(signal.SIGTERM, _interrupt)
    databases = Databases(tmp)
    try:
        tools = find_tools(tmp, args.loadgen, not args.no_install)
        extra = dict(item.split("=", 1) for item in args.env)
        # One load generator is one client: it measures throughput, not the
        # limiter's refusals (the limiter still runs and counts every call).
        env = child_env({"APP_RATE_LIMIT_PER_MINUTE": "1000000000", **extra})
        can_pin = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
        cpus: tuple[int | None, int | None] = (
            tuple(sorted(os.sched_getaffinity(0))[:2]) if can_pin else (None, None)  # type: ignore[assignment]
        )
        run = Run(args, tools, tmp, env, cpus)
        targets = [t for t in TARGETS if t.id in args.selected]
        variants = [DEFAULT, *(t.variant for t in targets if t.variant != FASTAPI)]
        prepare(run, list(dict.fromkeys(variants)), databases)
        rows: list[dict[str, Any]] = []
        for kind in args.servers:
            rows.extend(m.summary() for m in measure(run, kind, targets))
        times: list[dict[str, Any]] = []
        if "cold-start" in args.selected:
            if not (tmp / "baseline-responses.json").exists():
                baseline_from_default(run)
            times.append(cold_starts(run))
        if "copier-copy" in args.selected:
            times.append(copier_copies(run))
        if "make-test" in args.selected:
            times.append(make_test(run))
        if args.json:
            config = {
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "rounds": args.rounds,
                "connections": args.connections,
                "loadgen": tools.loadgen,
                "pinned_cpus": list(cpus) if can_pin else None,
                "versions": versions(run.projects[variants[0]]),
            }
            print(
                json.dumps(
                    {"config": config, "targets": rows, "times": times}, indent=2
                )
            )
        else:
            pinning = (
                f"server on CPU {cpus[0]}, load on CPU {cpus[1]}"
                if can_pin
                else "unpinned"
            )
            print(
                f"load: {tools.loadgen}, {args.connections} connections, "
                f"{args.rounds} x {args.duration} s per target and baseline, {pinning}"
            )
            print_table(rows, times)
        return 0
    except SetupError as exc:
        log(f"setup failed: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        databases.drop()
        discard(tmp, args.keep)


def baseline_from_default(run: Run) -> None:
    """The baseline's bytes, when no throughput target ran to record them."""
    service = start(run, "uvicorn", DEFAULT)
    try:
        start_baseline(run, "uvicorn", service).stop()
    finally:
        service.stop()


if __name__ == "__main__":
    sys.exit(main())
