"""What the bench measures: each target is a request to one generated variant.

A variant is an answer set (the defaults plus a few changes) rendered once per run;
its targets share the running service. The goals are issue 18's, as ratios of the
requests/s of bare Starlette serving /health/live in the same run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from harness import Server, SetupError, Tools, log, request, run

PACKAGE = "acme_service"
HEALTH = "/health/live"
SEED_USERS = 20
LIST = f"/api/v1/users?limit={SEED_USERS}"
BENCH_ACCOUNT = {"email": "bench@example.com", "password": "bench-password-0123456"}
# The server the PostgreSQL variants get a database of their own on (DESIGN.md §5).
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class Variant:
    name: str
    answers: tuple[tuple[str, str], ...] = ()

    @property
    def auth(self) -> str:
        return dict(self.answers).get("auth", "jwt")

    @property
    def database(self) -> str:
        return dict(self.answers).get("database", "sqlite")


@dataclass(frozen=True)
class Target:
    id: str
    title: str
    variant: Variant
    path: str
    # None: a reference measured for comparison, with no goal of its own.
    goal_ratio: float | None
    goal_p99_ms: float | None = None


DEFAULT = Variant("default")
API_KEY = Variant("api-key", (("auth", "api_key"),))
OPEN = Variant("open", (("auth", "none"),))
UNCACHED = Variant("uncached", (("auth", "none"), ("cache", "none")))
# Not rendered: bench/ceiling.py, served from the default variant's venv.
FASTAPI = Variant("fastapi")
UNCACHED_PG = Variant(
    "uncached-pg", (("auth", "none"), ("cache", "none"), ("database", "postgresql"))
)

TARGETS = (
    Target("health", "/health/live", DEFAULT, HEALTH, 0.50),
    Target("jwt-list", "20-row list, jwt, memory cache", DEFAULT, LIST, 0.25),
    Target("api-key-list", "20-row list, api_key, memory cache", API_KEY, LIST, 0.25),
    Target("open-list", "20-row list, no auth, memory cache", OPEN, LIST, 0.35),
    Target(
        "sqlite-list",
        "20-row list, no auth, no cache, SQLite",
        UNCACHED,
        LIST,
        0.10,
        50,
    ),
    Target(
        "postgres-list",
        "20-row list, no auth, no cache, PostgreSQL",
        UNCACHED_PG,
        LIST,
        0.08,
        50,
    ),
    Target(
        "fastapi-list",
        "FastAPI alone: the list route's dependencies, fixed bytes (reference)",
        FASTAPI,
        LIST,
        None,
    ),
)


@dataclass
class Databases:
    """One database per variant: a SQLite file, or a PostgreSQL database made for
    the run and dropped at its end."""

    tmp: Path
    created: list[str] = field(default_factory=list)

    def url(self, variant: Variant) -> str:
        if variant.database == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp / (variant.name + '.db')}"
        name = f"bench_{os.getpid()}_{variant.name.replace('-', '_')}"
        self._psql(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        server = POSTGRES_URL.rsplit("/", 1)[0].split("://", 1)[1]
        return f"postgresql+asyncpg://{server}/{name}"

    def drop(self) -> None:
        for name in self.created:
            try:
                self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except SetupError as exc:
                log(f"could not drop {name}: {exc}")

    def _psql(self, sql: str) -> None:
        run(["psql", POSTGRES_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql])


def credentials(
    variant: Variant, service: Server, project: Path, tools: Tools, env: dict[str, str]
) -> dict[str, str]:
    """Headers that authenticate every request of the bench as an admin."""
    if variant.auth == "jwt":
        for step in ("register", "login"):
            status, _, body = request(
                service.port, "POST", f"/api/v1/auth/{step}", BENCH_ACCOUNT
            )
            if status not in (200, 201, 409):
                raise SetupError(
                    f"POST /api/v1/auth/{step} answered {status}: {body[:300]!r}"
                )
        token = json.loads(body)["data"]["access_token"]
        return {"Authorization": f"Bearer {token}"}
    if variant.auth == "api_key":
        cli = f"{PACKAGE}.shared.auth.api_keys.cli"
        out = run(
            [
                tools.uv,
                "run",
                "--no-sync",
                "python",
                "-m",
                cli,
                "create",
                "--name",
                "bench",
                "--role",
                "admin",
            ],
            cwd=project,
            env=env,
        )
        return {"Authorization": f"Bearer {out.split()[-1]}"}
    return {}


def seed(service: Server, headers: dict[str, str]) -> None:
    """SEED_USERS users, so that the list returns a full page."""
    for i in range(1, SEED_USERS + 1):
        status, _, body = request(
            service.port, "POST", "/api/v1/users", {"name": f"user-{i}"}, headers
        )
        if status != 201:
            raise SetupError(f"POST /api/v1/users answered {status}: {body[:300]!r}")
    status, _, body = request(service.port, "GET", LIST, headers=headers)
    rows = json.loads(body).get("data") if status == 200 else None
    if not isinstance(rows, list) or len(rows) != SEED_USERS:
        raise SetupError(f"GET {LIST} answered {status}: {body[:300]!r}")
