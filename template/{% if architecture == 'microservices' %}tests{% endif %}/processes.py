"""The services as real processes: migrated, started, stopped and killed on demand."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

# Starting a service imports FastAPI, SQLAlchemy and the broker client: seconds.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


def eventually(probe: Callable[[], T | None], timeout_s: float = 30.0) -> T:
    """The first truthy result of `probe`, polled until `timeout_s` runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing came within {timeout_s:g} s")
        time.sleep(0.1)


def free_port() -> int:
    """A port nobody listens on now; the service keeps it across restarts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServiceProcess:
    """One service of the system, run as `make run` runs it: uvicorn, own database.

    Its output (JSON log lines) goes to `log_path`, across restarts.
    """

    def __init__(
        self,
        name: str,
        package: str,
        directory: Path,
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.name = name
        self.package = package
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # Only what the tests say: no APP_* of the shell running them.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
        self.env = {**inherited, "PYTHONUNBUFFERED": "1", **env}
        self._process: subprocess.Popen[bytes] | None = None

    def python(self, *args: str) -> str:
        """Run `python args` in the service's folder with its environment; stdout."""
        with self.log_path.open("ab") as log:
            done = subprocess.run(
                [sys.executable, *args],
                cwd=self.directory,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=log,
                check=False,
            )
        if done.returncode != 0:
            raise AssertionError(
                f"{self.name}: python {' '.join(args)} failed\n{self.log_tail()}"
            )
        return done.stdout.decode()

    def migrate(self) -> None:
        self.python("-m", "alembic", "upgrade", "heads")

    def start(self) -> None:
        """Start the service and wait until it is ready (database and broker)."""
        assert self._process is None, f"{self.name} is running already"
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"{self.package}.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.directory,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_ready()

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops it; SIGKILL if it does not go."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to finish anything."""
        self._end(signal.SIGKILL)

    def _end(self, how: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(how)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        answer = "no answer"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                break
            try:
                ready = httpx.get(f"{self.url}/health/ready", timeout=5)
            except httpx.TransportError as exc:
                answer = repr(exc)
            else:
                if ready.status_code == 200:
                    return
                answer = f"{ready.status_code} {ready.text}"
            time.sleep(0.2)
        self.stop()
        raise AssertionError(
            f"{self.name} did not get ready ({answer})\n{self.log_tail()}"
        )

    def log_lines(self, since: int = 0) -> list[dict[str, Any]]:
        """The JSON lines the service wrote after byte `since` (`log_size()`)."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        lines = []
        for raw in text.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict):
                lines.append(line)
        return lines

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_tail(self, since: int = 0, limit: int = 20_000) -> str:
        """What the service wrote after byte `since` (its last `limit` bytes)."""
        if not self.log_path.exists():
            return f"--- {self.name}: no output ---"
        with self.log_path.open("rb") as log:
            log.seek(max(since, self.log_size() - limit))
            text = log.read().decode(errors="replace")
        return f"--- {self.name} ({self.log_path}) ---\n{text}"
