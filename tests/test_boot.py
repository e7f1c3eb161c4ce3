"""The default service boots with `make run` and serves its HTTP contract over a real
socket (slow): health, a CRUD round trip, error envelopes and request ids."""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from answer_sets import BY_ID, DEFAULT_SET
from helpers import REPO_ROOT, group_members, project_env, stop_group, tail
from pytest_copie.plugin import Copie

# First start included: venv from the shared uv cache, migrations, server start.
BOOT_TIMEOUT_S = 240
REQUEST_TIMEOUT_S = 10


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _ephemeral_start() -> int:
    """Where the kernel's ephemeral ports start (32768 unless configured)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Ports for the servers a test starts are taken below the ephemeral range: the
# kernel hands those to every socket bound to port 0 and to every outgoing
# connection, so one found free there can be taken by another test's socket in
# the minute `make run` spends installing before it binds.
_PORTS = range(max(1024, _ephemeral_start() - 12_000), _ephemeral_start())


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    return free_ports(1)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        # Sent with every request once the test has signed in.
        self.default_headers: dict[str, str] = {}

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            urllib.parse.urljoin(self.base, path), data=data, method=method
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in {**self.default_headers, **(headers or {})}.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
                return Response(
                    answer.status,
                    {k.lower(): v for k, v in answer.headers.items()},
                    answer.read(),
                )
        except urllib.error.HTTPError as error:
            return Response(
                error.code,
                {k.lower(): v for k, v in error.headers.items()},
                error.read(),
            )


@dataclass
class Server:
    client: Client
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return tail(self.log.read_text(encoding="utf-8", errors="replace"), 60)


@contextlib.contextmanager
def serving(
    command: list[str], project: Path, env: dict[str, str], ports: list[int], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` in `project` until every port answers /health/live; on the way
    out, stop its whole process group and check that nothing of it is left."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    clients = [Client(f"http://127.0.0.1:{port}") for port in ports]
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        waiting = list(clients)
        while waiting:
            output = tail(log.read_text(encoding="utf-8", errors="replace"), 60)
            if process.poll() is not None:
                pytest.fail(f"{command} exited {process.returncode}:\n{output}")
            with contextlib.suppress(OSError):
                if waiting[0]("GET", "/health/live").status == 200:
                    waiting.pop(0)
                    continue
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{waiting[0].base} not live in {BOOT_TIMEOUT_S} s:\n{output}"
                )
            time.sleep(0.5)
        yield process
    finally:
        survivors = stop_group(process)
        assert survivors == [], f"processes of {command} still alive: {survivors}"
        assert group_members(process.pid) == []
        for port in ports:
            assert not port_open(port), f"port {port} still accepts connections"


@pytest.fixture
def server(copie: Copie, tmp_path: Path) -> Iterator[Server]:
    result = copie.copy(extra_answers=DEFAULT_SET.data)
    assert (
        result.exit_code == 0
    ), f"the default answers did not render: {result.exception!r}"
    assert result.project_dir is not None

    port = free_port()
    env = project_env(DEFAULT_SET)
    log = tmp_path / "make-run.log"
    command = ["make", "run", "HOST=127.0.0.1", f"PORT={port}"]
    with serving(command, result.project_dir, env, [port], log) as process:
        yield Server(Client(f"http://127.0.0.1:{port}"), port, process, log)


def assert_error(
    response: Response, status: int, code: str, request_id: str
) -> dict[str, Any]:
    assert response.status == status, (response.status, response.body)
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert isinstance(error["details"], list)
    assert error["request_id"] == request_id
    assert response.headers["x-request-id"] == request_id
    return error  # type: ignore[no-any-return]


@pytest.mark.slow
def test_default_service_boots_and_serves_the_contract(server: Server) -> None:
    http = server.client

    live = http("GET", "/health/live")
    assert live.status == 200
    assert live.headers.get("x-request-id")

    ready = http("GET", "/health/ready")
    assert ready.status == 200, ready.body
    report = ready.json()
    assert report["errors"] == []
    assert report["data"]["checks"]["database"]["status"] == "pass"

    # The API needs credentials (jwt is the default auth)
    anonymous = http("GET", "/api/v1/users", headers={"X-Request-ID": "boot-anon"})
    assert_error(anonymous, 401, "UNAUTHENTICATED", "boot-anon")
    assert anonymous.headers["www-authenticate"] == "Bearer"

    # Register, sign in, and send the access token from now on
    account = {"email": "ada@example.com", "password": "correct horse battery staple"}
    registered = http("POST", "/api/v1/auth/register", account)
    assert registered.status == 201, registered.body
    login = http("POST", "/api/v1/auth/login", account)
    assert login.status == 200, login.body
    tokens = login.json()["data"]
    assert tokens["token_type"].lower() == "bearer"
    http.default_headers["Authorization"] = f"Bearer {tokens['access_token']}"

    # Create
    rid = "boot-test-create"
    created = http(
        "POST", "/api/v1/users", {"name": "Ada Lovelace"}, {"X-Request-ID": rid}
    )
    assert created.status == 201, created.body
    assert created.headers["x-request-id"] == rid
    location = created.headers["location"]
    user = created.json()["data"]
    assert created.json()["errors"] == []
    assert user["name"] == "Ada Lovelace"
    assert user["version"] == 1
    assert str(user["id"]) in location

    # Read it back where Location says
    fetched = http("GET", location, headers={"X-Request-ID": "boot-test-read"})
    assert fetched.status == 200, fetched.body
    assert fetched.headers["x-request-id"] == "boot-test-read"
    assert fetched.json() == {"data": user, "errors": []}
    item = f"/api/v1/users/{user['id']}"

    # Patch with the current version: version 2
    patched = http("PATCH", item, {"version": 1, "description": "x"})
    assert patched.status == 200, patched.body
    assert patched.json()["data"]["version"] == 2
    assert patched.json()["data"]["description"] == "x"
    assert patched.json()["data"]["name"] == "Ada Lovelace"

    # Patch with a stale version: conflict
    stale = http(
        "PATCH",
        item,
        {"version": 1, "description": "y"},
        {"X-Request-ID": "boot-test-stale"},
    )
    assert_error(stale, 409, "CONFLICT", "boot-test-stale")
    assert http("GET", item).json()["data"]["description"] == "x"

    # Delete, then it is gone
    deleted = http("DELETE", item)
    assert deleted.status == 204, deleted.body
    assert deleted.body == b""
    assert_error(
        http("GET", item, headers={"X-Request-ID": "boot-test-gone"}),
        404,
        "NOT_FOUND",
        "boot-test-gone",
    )

    # The framework's own 404 uses the same envelope
    assert_error(
        http("GET", "/nope", headers={"X-Request-ID": "boot-test-nope"}),
        404,
        "NOT_FOUND",
        "boot-test-nope",
    )

    # Metrics are served
    metrics = http("GET", "/metrics")
    assert metrics.status == 200
    assert metrics.headers["content-type"].startswith("text/plain")

    # The "Try it" commands of docs/getting-started.md work as written
    said = try_it_from_getting_started(server.port)
    assert '"status":"pass"' in said
    assert "UNAUTHENTICATED" not in said
    assert said.count('"name":"ada"') == 2, said  # created, then listed

    # The API docs render in a real browser that can reach no other host
    rendered = docs_in_an_offline_browser(server.port, server.log.parent)
    for path in ("/api/v1/users", "/api/v1/users/{item_id}", "/api/v1/auth/login"):
        assert f'data-path="{path}"' in rendered, f"/docs shows no {path}"


def try_it_from_getting_started(port: int) -> str:
    """Run the shell block after "Try it" in docs/getting-started.md against the
    service on `port`, as a reader pastes it; return what it printed."""
    guide = (REPO_ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    after = guide.split("\nTry it", 1)[1]
    block = after.split("```sh\n", 1)[1].split("```", 1)[0]
    done = subprocess.run(
        # No pipefail, as in a reader's shell: `| head` may cut curl short.
        ["bash", "-eu", "-c", block.replace("localhost:8000", f"127.0.0.1:{port}")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def docs_in_an_offline_browser(port: int, scratch: Path) -> str:
    """The DOM of /docs once headless Chromium has run its scripts, with every host
    but the service's own unresolvable, as on a network without internet access."""
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is missing: `make test` installs it (Makefile, browser)"
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            f"--user-data-dir={scratch / 'chromium'}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            # Lets the page's scripts run (fetch the OpenAPI document, render).
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"http://127.0.0.1:{port}/docs",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


SYSTEM_SET = BY_ID["micro-sqlite-notrace-github-py312-two-none-nocache-window-rabbit"]


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports, below the ephemeral range."""
    for _ in range(50):
        first = random.randrange(_PORTS.start, _PORTS.stop - count)
        if all(bindable(first + i) for i in range(count)):
            return first
    pytest.fail(f"no {count} consecutive free ports")


@pytest.mark.slow
def test_a_system_serves_service_i_on_base_port_plus_i(
    copie: Copie, tmp_path: Path
) -> None:
    """`make run BASE_PORT=...` at a system's root moves every service, and the
    second one finds the first at its moved port (it checks each parent there)."""
    result = copie.copy(extra_answers=SYSTEM_SET.data)
    assert result.exit_code == 0, f"{SYSTEM_SET.id}: {result.exception!r}"
    assert result.project_dir is not None
    base = free_ports(2)
    command = ["make", "run", "HOST=127.0.0.1", f"BASE_PORT={base}"]
    env = project_env(SYSTEM_SET)
    log = tmp_path / "make-run.log"

    with serving(command, result.project_dir, env, [base, base + 1], log):
        tools = Client(f"http://127.0.0.1:{base}")
        loans = Client(f"http://127.0.0.1:{base + 1}")
        tool = tools("POST", "/api/v1/tools", {"name": "Ladder"})
        assert tool.status == 201, tool.body
        tool_id = tool.json()["data"]["id"]

        loan = loans("POST", "/api/v1/loans", {"name": "To Ada", "tool_id": tool_id})
        assert loan.status == 201, loan.body
        unknown = "00000000-0000-0000-0000-000000000000"
        stray = loans(
            "POST",
            "/api/v1/loans",
            {"name": "Lost", "tool_id": unknown},
            {"X-Request-ID": "stray-loan"},
        )
        error = assert_error(stray, 404, "NOT_FOUND", "stray-loan")
        assert error["details"][0]["field"] == "tool_id"
