#!/usr/bin/env python3
"""Throughput of the generated service against a bare Starlette app, same server.

Generates the default service from this repo (working tree included), serves it
and a bare Starlette baseline with the same ASGI server and flags, loads them in
turn (service, baseline, service, baseline, ...) on /health/live and on a
20-row list, and prints requests/s (median of rounds), p50, p99 and the
service/baseline ratio. A measurement tool: it exits 0 whatever the numbers.
Flags: bench/README.md or `python3 bench/run.py --help`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
HOST = "127.0.0.1"
PACKAGE = "acme_service"
SEED_USERS = 20
ENDPOINTS = ("/health/live", f"/api/v1/users?limit={SEED_USERS}")
TOOL_PINS = ("copier==9.19.1", "copier-template-extensions==0.3.4", "uv==0.13.8")
STARTUP_TIMEOUT_S = 60.0
NOISY_OTHER_CORES = 0.15  # foreign CPU use during a run above which the table warns

# wrk prints this one line at the end of a run; run.py parses it.
WRK_SCRIPT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT %d %d %.1f %.1f %d %d %d %d %d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


class SetupError(RuntimeError):
    """The service could not be generated, installed or started."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- tools


@dataclass
class Tools:
    copier: str
    uv: str
    loadgen: str  # "wrk" or "python"


def run(
    cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    """Run a setup command; raise SetupError with its output if it fails."""
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        tail = "\n".join(output[-40:])
        raise SetupError(f"`{' '.join(cmd)}` exited {result.returncode}:\n{tail}")
    return result.stdout


def find_tools(tmp: Path, loadgen: str, install: bool) -> Tools:
    venv_bin = REPO / ".venv" / "bin"
    copier = venv_bin / "copier"
    uv: str | None = (
        str(venv_bin / "uv") if (venv_bin / "uv").exists() else shutil.which("uv")
    )
    if not copier.exists():
        log(
            f"{copier} is missing: `make test` at the repo root creates .venv with "
            "copier and uv. Bootstrapping a private venv under the tmp dir instead."
        )
        tools_venv = tmp / "tools"
        run([sys.executable, "-m", "venv", str(tools_venv)])
        run([str(tools_venv / "bin" / "pip"), "install", "-q", *TOOL_PINS])
        copier = tools_venv / "bin" / "copier"
        uv = str(tools_venv / "bin" / "uv")
    if uv is None:
        raise SetupError("uv not found in .venv/bin or on PATH")
    return Tools(copier=str(copier), uv=uv, loadgen=choose_loadgen(loadgen, install))


def choose_loadgen(wanted: str, install: bool) -> str:
    if wanted == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing; installing it with apt-get (running as root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

        def apt_get(*words: str) -> int:
            return subprocess.run(
                ["apt-get", *words],
                env=env,
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ).returncode

        if apt_get("install", "-y", "wrk"):
            apt_get("update")
            apt_get("install", "-y", "wrk")
        if shutil.which("wrk"):
            return "wrk"
    if wanted == "wrk":
        raise SetupError(
            "wrk is not installed and could not be installed (apt-get install wrk)"
        )
    log("wrk unavailable: falling back to the Python load generator (bench/loadgen.py)")
    return "python"


# ------------------------------------------------------------------------- project


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The user's environment without anything that would reconfigure the service."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("APP_", "OTEL_", "GRANIAN_", "UVICORN_"))
        and key not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH")
    }
    env.update(extra)
    return env


def generate(tools: Tools, tmp: Path, env: dict[str, str], servers: list[str]) -> Path:
    project = tmp / "svc"
    log(f"generating the default service into {project}")
    run(
        [
            tools.copier,
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            str(REPO),
            str(project),
        ],
        env=env,
    )
    log("uv sync")
    run([tools.uv, "sync"], cwd=project, env=env)
    log("alembic upgrade head")
    run(
        [tools.uv, "run", "--no-sync", "alembic", "upgrade", "head"],
        cwd=project,
        env=env,
    )
    if "granian" in servers:
        log("uv pip install granian (bench only)")
        run([tools.uv, "pip", "install", "granian"], cwd=project, env=env)
    return project


def versions(project: Path) -> dict[str, str]:
    names = [
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "granian",
        "pydantic",
        "sqlalchemy",
    ]
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        f"for n in {names!r}:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "out['python'] = sys.version.split()[0]\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(result.stdout) if result.returncode == 0 else {}


# -------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def pinned(cpu: int | None):  # type: ignore[no-untyped-def]
    if cpu is None:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, {cpu})

    return pin


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def stderr_tail(self, lines: int = 30) -> str:
        text = self.stderr_path.read_text(errors="replace").strip().splitlines()
        out = self.stdout_path.read_text(errors="replace").strip().splitlines()
        return "\n".join([*out[-lines:], *text[-lines:]])

    def stop(self) -> None:
        """SIGTERM the server's process group; SIGKILL whatever is left after 10 s."""
        pgid = self.process.pid  # start_new_session: the group is the uv process's

        def running() -> bool:
            return self.process.poll() is None or group_alive(pgid)

        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while running() and time.monotonic() < deadline:
            time.sleep(0.1)
        if running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)


def group_processes(pgid: int) -> list[list[str]]:
    """/proc/<pid>/stat fields (from the state on) of each process in the group."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            found.append(fields)
    return found


def group_alive(pgid: int) -> bool:
    return any(fields[0] != "Z" for fields in group_processes(pgid))


def server_command(kind: str, uv: str, target: str, port: int) -> list[str]:
    base = [uv, "run", "--no-sync"]
    if kind == "uvicorn":
        return [
            *base,
            "uvicorn",
            "--factory",
            target,
            "--host",
            HOST,
            "--port",
            str(port),
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
        ]
    return [
        *base,
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
        target,
    ]


def start_server(
    name: str,
    kind: str,
    target: str,
    project: Path,
    tmp: Path,
    tools: Tools,
    env: dict[str, str],
    cpu: int | None,
) -> Server:
    port = free_port()
    stdout_path = tmp / f"{name}.stdout.log"
    stderr_path = tmp / f"{name}.stderr.log"
    with open(stdout_path, "ab") as out, open(stderr_path, "ab") as err:
        process = subprocess.Popen(
            server_command(kind, tools.uv, target, port),
            cwd=project,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=pinned(cpu),  # noqa: PLW1509 (run.py starts no threads)
        )
    server = Server(name, port, process, stdout_path, stderr_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(
                f"{name} ({kind}) exited {process.returncode} at start-up:\n"
                f"{server.stderr_tail()}"
            )
        try:
            status, _, _ = request(port, "GET", "/health/live")
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SetupError(
        f"{name} ({kind}) did not answer within {STARTUP_TIMEOUT_S:g} s:\n"
        f"{server.stderr_tail()}"
    )


# Credentials of the benchmark's own account, sent on every request once signed in
# (the baseline ignores them); empty when the service has no sign-in route.
AUTH_HEADERS: dict[str, str] = {}
BENCH_ACCOUNT = {"email": "bench@example.com", "password": "bench-password-0123456"}


def request(
    port: int, method: str, path: str, body: Any = None
) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        headers.update(AUTH_HEADERS)
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def sign_in(service: Server) -> None:
    """Register and log in when the service issues its own tokens (auth=jwt)."""
    status, _, body = request(
        service.port, "POST", "/api/v1/auth/register", BENCH_ACCOUNT
    )
    if status == 404:
        return
    if status not in (201, 409):
        raise SetupError(f"POST /api/v1/auth/register answered {status}: {body[:300]!r}")
    status, _, body = request(service.port, "POST", "/api/v1/auth/login", BENCH_ACCOUNT)
    if status != 200:
        raise SetupError(f"POST /api/v1/auth/login answered {status}: {body[:300]!r}")
    token = json.loads(body)["data"]["access_token"]
    AUTH_HEADERS["Authorization"] = f"Bearer {token}"
    log("signed in: the API requests carry a bearer token")


def capture(service: Server, tmp: Path) -> Path:
    """Seed the users, then record what the service answers on each endpoint."""
    sign_in(service)
    for i in range(1, SEED_USERS + 1):
        status, _, body = request(
            service.port, "POST", "/api/v1/users", {"name": f"user-{i}"}
        )
        if status not in (200, 201):
            raise SetupError(f"POST /api/v1/users answered {status}: {body[:300]!r}")
    captured = []
    for path in ENDPOINTS:
        status, content_type, body = request(service.port, "GET", path)
        if status != 200:
            raise SetupError(f"GET {path} answered {status}: {body[:300]!r}")
        log(f"captured GET {path}: {status}, {content_type}, {len(body)} bytes")
        rows = json.loads(body).get("data") if path.startswith("/api/") else None
        if isinstance(rows, list) and len(rows) != SEED_USERS:
            log(f"warning: the list holds {len(rows)} rows, not {SEED_USERS}")
        captured.append(
            {
                "path": path.split("?")[0],
                "status": status,
                "content_type": content_type,
                "body_b64": base64.b64encode(body).decode(),
            }
        )
    responses = tmp / "baseline-responses.json"
    responses.write_text(json.dumps(captured))
    return responses


# ---------------------------------------------------------------------------- load


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    non_2xx: int
    # CPU, in cores, used by the server's process group, and by everything but the
    # server and the load generator (other sessions' work on this shared machine).
    server_cores: float = 0.0
    other_cores: float = 0.0


def load(
    tools: Tools,
    project: Path,
    tmp: Path,
    url: str,
    seconds: int,
    connections: int,
    cpu: int | None,
) -> Sample:
    if tools.loadgen == "wrk":
        script = tmp / "report.lua"
        if not script.exists():
            script.write_text(WRK_SCRIPT)
        cmd = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            *(f"-H{name}: {value}" for name, value in AUTH_HEADERS.items()),
            url,
        ]
    else:
        host_port, _, path = url.removeprefix("http://").partition("/")
        cmd = [
            str(project / ".venv" / "bin" / "python"),
            str(BENCH / "loadgen.py"),
            "--port",
            host_port.split(":")[1],
            "--path",
            "/" + path,
            "--connections",
            str(connections),
            "--duration",
            str(seconds),
            *(f"--header={name}: {value}" for name, value in AUTH_HEADERS.items()),
        ]
    result = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=pinned(cpu),
        timeout=seconds + 60,
    )
    if result.returncode != 0:
        raise SetupError(f"load generator failed: {result.stderr.strip()[-500:]}")
    if tools.loadgen == "wrk":
        line = next(
            l for l in result.stdout.splitlines() if l.startswith("BENCH_RESULT")
        )
        requests_, duration_us, p50, p99, *errors = line.split()[1:]
        requests_n = int(requests_)
        return Sample(
            rps=requests_n / (int(duration_us) / 1e6),
            p50_ms=float(p50) / 1000,
            p99_ms=float(p99) / 1000,
            requests=requests_n,
            errors=sum(int(e) for e in errors[:3]) + int(errors[4]),
            non_2xx=int(errors[3]),
        )
    data = json.loads(result.stdout)
    return Sample(
        data["rps"],
        data["p50_ms"],
        data["p99_ms"],
        data["requests"],
        data["errors"],
        data["non_2xx"],
    )


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (steal included) since boot."""
    with open("/proc/stat") as handle:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (
            int(x) for x in handle.readline().split()[1:9]
        )
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def group_cpu_s(pgid: int) -> float:
    """CPU seconds used by the live processes of one process group."""
    ticks = sum(int(f[11]) + int(f[12]) for f in group_processes(pgid))
    return ticks / CLOCK_TICKS


def wait_for_quiet(limit_s: float) -> None:
    """Wait (at most limit_s) until the machine is idle for one second."""
    deadline = time.monotonic() + limit_s
    waited = False
    while True:
        before = machine_busy_s()
        time.sleep(1.0)
        busy = machine_busy_s() - before
        if busy < NOISY_OTHER_CORES or time.monotonic() >= deadline:
            break
        if not waited:
            log(
                f"machine busy ({busy:.2f} cores used by other processes): "
                f"waiting up to {limit_s:g} s for it to settle"
            )
            waited = True
    if waited and busy >= NOISY_OTHER_CORES:
        log("still busy: measuring anyway")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured_load(
    server: Server,
    tools: Tools,
    project: Path,
    tmp: Path,
    url: str,
    seconds: int,
    connections: int,
    cpu: int | None,
) -> Sample:
    """One measured run, with the CPU the server and everything else used meanwhile."""
    before = (
        time.monotonic(),
        machine_busy_s(),
        group_cpu_s(server.process.pid),
        children_cpu_s(),
    )
    sample = load(tools, project, tmp, url, seconds, connections, cpu)
    after = (
        time.monotonic(),
        machine_busy_s(),
        group_cpu_s(server.process.pid),
        children_cpu_s(),
    )
    elapsed, busy, served, loader = (b - a for a, b in zip(before, after, strict=True))
    sample.server_cores = served / elapsed
    sample.other_cores = max(0.0, (busy - served - loader) / elapsed)
    return sample


@dataclass
class Row:
    server: str
    endpoint: str
    app: str
    samples: list[Sample] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "endpoint": self.endpoint,
            "app": self.app,
            "rps": round(statistics.median(s.rps for s in self.samples), 1),
            "p50_ms": round(statistics.median(s.p50_ms for s in self.samples), 3),
            "p99_ms": round(statistics.median(s.p99_ms for s in self.samples), 3),
            "errors": sum(s.errors for s in self.samples),
            "non_2xx": sum(s.non_2xx for s in self.samples),
            "rounds_rps": [round(s.rps, 1) for s in self.samples],
            "server_cores": round(
                statistics.median(s.server_cores for s in self.samples), 2
            ),
            "rps_per_core": round(
                statistics.median(
                    s.rps / s.server_cores for s in self.samples if s.server_cores
                )
                if any(s.server_cores for s in self.samples)
                else 0.0,
                1,
            ),
            "max_other_cores": round(max(s.other_cores for s in self.samples), 2),
        }


def bench_server(
    kind: str,
    args: argparse.Namespace,
    tools: Tools,
    project: Path,
    tmp: Path,
    env: dict[str, str],
    responses: Path | None,
    cpus: tuple[int | None, int | None],
) -> tuple[list[Row], Path]:
    server_cpu, load_cpu = cpus
    servers: list[Server] = []
    try:
        log(f"[{kind}] starting the service")
        service = start_server(
            f"service-{kind}",
            kind,
            f"{PACKAGE}.main:create_app",
            project,
            tmp,
            tools,
            env,
            server_cpu,
        )
        servers.append(service)
        if responses is None:
            responses = capture(service, tmp)
        log(f"[{kind}] starting the baseline")
        baseline_env = {
            **env,
            "PYTHONPATH": str(BENCH),
            "BENCH_BASELINE_RESPONSES": str(responses),
        }
        baseline = start_server(
            f"baseline-{kind}",
            kind,
            "baseline:create_app",
            project,
            tmp,
            tools,
            baseline_env,
            server_cpu,
        )
        servers.append(baseline)
        rows: list[Row] = []
        for endpoint in ENDPOINTS:
            pair = [
                (service, Row(kind, endpoint, "service")),
                (baseline, Row(kind, endpoint, "baseline")),
            ]
            for round_no in range(1, args.rounds + 1):
                for server, row in pair:
                    url = server.url(endpoint)
                    wait_for_quiet(args.quiet_wait)
                    if args.warmup > 0:
                        load(
                            tools,
                            project,
                            tmp,
                            url,
                            args.warmup,
                            args.connections,
                            load_cpu,
                        )
                    sample = measured_load(
                        server,
                        tools,
                        project,
                        tmp,
                        url,
                        args.duration,
                        args.connections,
                        load_cpu,
                    )
                    row.samples.append(sample)
                    if server.process.poll() is not None:
                        raise SetupError(
                            f"{server.name} died under load:\n{server.stderr_tail()}"
                        )
                    lines = _drain_log(server.stdout_path)
                    note = f", {lines} access-log lines" if server is service else ""
                    log(
                        f"[{kind}] {endpoint} round {round_no} {row.app}: "
                        f"{sample.rps:,.0f} req/s, p50 {sample.p50_ms:.2f} ms, "
                        f"p99 {sample.p99_ms:.2f} ms, errors {sample.errors}, "
                        f"non-2xx {sample.non_2xx}, server CPU {sample.server_cores:.2f}, "
                        f"other CPU {sample.other_cores:.2f}{note}"
                    )
            rows.extend(row for _, row in pair)
        return rows, responses
    finally:
        for server in servers:
            server.stop()


def _drain_log(path: Path) -> int:
    """Count the lines the server wrote since the last call, then empty the file."""
    with open(path, "rb") as handle:
        lines = sum(
            chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")
        )
    os.truncate(path, 0)
    return lines


# ---------------------------------------------------------------------------- report


def report(rows: list[Row]) -> list[dict[str, Any]]:
    summaries = [row.summary() for row in rows]
    by_key = {(s["server"], s["endpoint"], s["app"]): s for s in summaries}
    for s in summaries:
        base = by_key[(s["server"], s["endpoint"], "baseline")]
        s["ratio"] = round(s["rps"] / base["rps"], 3) if base["rps"] else None
        s["ratio_per_core"] = (
            round(s["rps_per_core"] / base["rps_per_core"], 3)
            if base["rps_per_core"]
            else None
        )
    return summaries


def print_table(summaries: list[dict[str, Any]]) -> None:
    header = (
        "server",
        "endpoint",
        "app",
        "req/s",
        "p50 ms",
        "p99 ms",
        "service/baseline",
        "server CPU",
        "req/CPU-s",
        "per-CPU ratio",
    )
    body = []
    for s in summaries:
        service = s["app"] == "service"
        ratio = f"{s['ratio']:.2f}x" if service and s["ratio"] else ""
        per_core = (
            f"{s['ratio_per_core']:.2f}x" if service and s["ratio_per_core"] else ""
        )
        flag = " (!)" if s["errors"] or s["non_2xx"] else ""
        body.append(
            (
                s["server"],
                s["endpoint"],
                s["app"] + flag,
                f"{s['rps']:,.0f}",
                f"{s['p50_ms']:.2f}",
                f"{s['p99_ms']:.2f}",
                ratio,
                f"{s['server_cores']:.2f}",
                f"{s['rps_per_core']:,.0f}",
                per_core,
            )
        )
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    numeric = set(range(3, len(header)))

    def fmt(r: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for r in body:
        print(fmt(r))
    if any(s["errors"] or s["non_2xx"] for s in summaries):
        print("(!) socket errors or non-2xx answers during the run: see --json")
    busiest = max(s["max_other_cores"] for s in summaries)
    if busiest > NOISY_OTHER_CORES:
        print(
            f"warning: other processes used up to {busiest:.2f} cores during a run; "
            "the numbers are noisy (see the [bench] lines on stderr)"
        )


# ------------------------------------------------------------------------------ main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server",
        choices=["uvicorn", "granian", "both"],
        default="uvicorn",
        help="ASGI server for both apps (default: uvicorn)",
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
        help="seconds of unmeasured load before each run (default: 2; 0: none)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="service/baseline alternations per endpoint (default: 3)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=32,
        help="keep-alive connections (default: 32)",
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
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server to CPU 0 and the load generator to CPU 1",
    )
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
        help="before each run, wait up to this long for other processes "
        "to leave the CPUs idle (default: 30; 0: never wait)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON instead of the table"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the tmp dir (generated project, logs)"
    )
    args = parser.parse_args()
    if args.duration < 1 or args.rounds < 1 or args.connections < 1 or args.warmup < 0:
        parser.error(
            "--duration, --rounds and --connections must be >= 1, --warmup >= 0"
        )
    return args


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    servers = ["uvicorn", "granian"] if args.server == "both" else [args.server]
    tmp = Path(tempfile.mkdtemp(prefix="backend-architect-bench-"))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        tools = find_tools(tmp, args.loadgen, not args.no_install)
        db_dir = tmp / "db"
        db_dir.mkdir(parents=True, exist_ok=True)
        extra = dict(item.split("=", 1) for item in args.env)
        env = child_env(
            {
                "APP_DATABASE_URL": f"sqlite+aiosqlite:///{db_dir / 'bench.db'}",
                # One load generator is one client: it measures throughput, not the
                # limiter's refusals (the limiter still runs and counts every call).
                "APP_RATE_LIMIT_PER_MINUTE": "1000000000",
                **extra,
            }
        )
        project = generate(tools, tmp, env, servers)
        can_pin = not args.no_pin and len(os.sched_getaffinity(0)) >= 2
        cpus: tuple[int | None, int | None] = (
            tuple(sorted(os.sched_getaffinity(0))[:2]) if can_pin else (None, None)  # type: ignore[assignment]
        )
        rows: list[Row] = []
        responses: Path | None = None
        for kind in servers:
            kind_rows, responses = bench_server(
                kind, args, tools, project, tmp, env, responses, cpus
            )
            rows.extend(kind_rows)
        summaries = report(rows)
        if args.json:
            print(
                json.dumps(
                    {
                        "config": {
                            "duration_s": args.duration,
                            "warmup_s": args.warmup,
                            "rounds": args.rounds,
                            "connections": args.connections,
                            "quiet_wait_s": args.quiet_wait,
                            "loadgen": tools.loadgen,
                            "pinned_cpus": list(cpus) if can_pin else None,
                            "versions": versions(project),
                        },
                        "results": summaries,
                    },
                    indent=2,
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
                f"{args.rounds} x {args.duration} s per app and endpoint, {pinning}"
            )
            print_table(summaries)
        return 0
    except SetupError as exc:
        log(f"setup failed: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
