"""What the bench stands on: tools, generated projects, servers, load and CPU use.

Nothing here decides what is measured; `targets.py` says what, `run.py` runs it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
HOST = "127.0.0.1"


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
        # Bytecode is written and read as on a developer's machine or in an image.
        and key
        not in (
            "VIRTUAL_ENV",
            "UV_PROJECT_ENVIRONMENT",
            "PYTHONPATH",
            "PYTHONDONTWRITEBYTECODE",
        )
    }
    env.update(extra)
    return env


def copier_copy(tools: Tools, project: Path, answers: dict[str, str]) -> list[str]:
    """`copier copy` of this repo's working tree, the defaults but for `answers`."""
    data = [arg for key, value in answers.items() for arg in ("-d", f"{key}={value}")]
    return [
        tools.copier,
        "copy",
        "--trust",
        "--defaults",
        "--quiet",
        "--vcs-ref",
        "HEAD",
        *data,
        str(REPO),
        str(project),
    ]


def discard(tmp: Path, keep: bool) -> None:
    """Remove the run's tmp dir, or say where it is kept."""
    if keep:
        log(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def generate(
    tools: Tools,
    project: Path,
    answers: dict[str, str],
    env: dict[str, str],
    servers: list[str],
) -> None:
    """Render the template with `answers` (defaults for the rest) into `project`,
    install it and migrate its database."""
    described = ", ".join(f"{k}={v}" for k, v in answers.items()) or "default answers"
    log(f"generating {project.name} ({described})")
    run(copier_copy(tools, project, answers), env=env)
    # Compiled as the Dockerfile does (UV_COMPILE_BYTECODE=1): a start-up that
    # compiles every module first is not the one a deployment sees.
    run([tools.uv, "sync", "--compile-bytecode"], cwd=project, env=env)
    python = str(project / ".venv" / "bin" / "python")
    run([python, "-m", "compileall", "-q", "src"], cwd=project, env=env)
    run(
        [tools.uv, "run", "--no-sync", "alembic", "upgrade", "heads"],
        cwd=project,
        env=env,
    )
    if "granian" in servers:
        log("uv pip install granian (bench only)")
        run([tools.uv, "pip", "install", "granian"], cwd=project, env=env)


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


def server_command(kind: str, project: Path, target: str, port: int) -> list[str]:
    """The server run straight from the project's venv, as a container runs it."""
    binaries = project / ".venv" / "bin"
    if kind == "uvicorn":
        return [
            str(binaries / "uvicorn"),
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
        str(binaries / "granian"),
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
            server_command(kind, project, target, port),
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


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        sent = {"Content-Type": "application/json"} if body is not None else {}
        sent.update(headers or {})
        headers = sent
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


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


@dataclass(frozen=True)
class LoadGenerator:
    """wrk (or bench/loadgen.py run by `python`), pinned to `cpu`."""

    tools: Tools
    python: Path
    tmp: Path
    connections: int
    cpu: int | None


def load(
    generator: LoadGenerator, url: str, seconds: int, headers: dict[str, str]
) -> Sample:
    tools, connections, cpu = generator.tools, generator.connections, generator.cpu
    if tools.loadgen == "wrk":
        script = generator.tmp / "report.lua"
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
            *(f"-H{name}: {value}" for name, value in headers.items()),
            url,
        ]
    else:
        host_port, _, path = url.removeprefix("http://").partition("/")
        cmd = [
            str(generator.python),
            str(BENCH / "loadgen.py"),
            "--port",
            host_port.split(":")[1],
            "--path",
            "/" + path,
            "--connections",
            str(connections),
            "--duration",
            str(seconds),
            *(f"--header={name}: {value}" for name, value in headers.items()),
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
    generator: LoadGenerator,
    url: str,
    seconds: int,
    headers: dict[str, str],
) -> Sample:
    """One measured run, with the CPU the server and everything else used meanwhile."""
    before = (
        time.monotonic(),
        machine_busy_s(),
        group_cpu_s(server.process.pid),
        children_cpu_s(),
    )
    sample = load(generator, url, seconds, headers)
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


def _drain_log(path: Path) -> int:
    """Count the lines the server wrote since the last call, then empty the file."""
    with open(path, "rb") as handle:
        lines = sum(
            chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")
        )
    os.truncate(path, 0)
    return lines
