"""A service the team grew by hand takes template updates without a merge (slow).

The team adds, in files it owns only (docs/updating.md, "Growing a service by hand"):
a domain with a table, a migration and a route module; an event handler subscribed to
the first domain's deletions; a middleware; a setting; a page of its docs site. Then
`copier update -d domains=` adds a domain through the template. Nothing may
conflict, every edit stays as it was, and the project passes the gates of `make
check` but the coverage measure (test_update.passes_its_gates), the team's own test
included (it deletes an item over HTTP and waits for its handler to note it,
through the real broker), and its docs page in the site.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from answer_sets import AnswerSet
from helpers import docs_site_problems, project_env
from releases import load_releases, tagged_clone
from services import answers_of, commit_all, generate, leftovers
from test_update import digest, passes_its_gates, update

RELEASES = load_releases()

NOTES = '''"""Notes: a domain the team added by hand, in one module of its own."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response

from {platform}.auth.dependencies import Reader
from {platform}.db import metadata
from {platform}.events.event import Event
from {platform}.events.outbox import first_delivery
from {platform}.http.envelope import Envelope, ok
from {platform}.http.state import provide

CONSUMER = "notes.on_{parent}_deleted"

notes = sa.Table(
    "team_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.String(200), nullable=False),
)


class NoteService:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def texts(self) -> list[str]:
        query = sa.select(notes.c.text).order_by(notes.c.id)
        async with self._engine.connect() as connection:
            return list((await connection.scalars(query)).all())

    async def on_deleted(self, event: Event) -> None:
        async with self._engine.begin() as connection:
            if await first_delivery(connection, event.id, CONSUMER):
                text = f"deleted {{event.data['id']}}"
                await connection.execute(sa.insert(notes).values(text=text))


NoteServiceDep = Annotated[NoteService, Depends(provide(NoteService))]
router = APIRouter(prefix="/api/v1", tags=["notes"])


class Notes(BaseModel):
    texts: list[str]


@router.get("/notes", response_model=Envelope[Notes])
async def list_notes(service: NoteServiceDep, _: Reader) -> Response:
    """What the team noted, oldest first."""
    return ok(Notes(texts=await service.texts()))
'''

NOTES_WIRING = '''"""The notes domain in the app: the team's own wiring."""

from __future__ import annotations

{imports}


def register(container: Container[Settings]) -> None:
    notes = NoteService(container.engine)
    container.add_service(notes)
    container.include_router(router)
    container.subscribe("{parents}.deleted", CONSUMER, notes.on_deleted)
'''

TEAM_HEADER = '''"""The team's middleware: names the team on every response."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class TeamHeader:
    def __init__(self, app: ASGIApp, team: str) -> None:
        self.app = app
        self.team = team

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_team(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Team", self.team)
            await send(message)

        await self.app(scope, receive, send_with_team)
'''

REGISTER_BODY = """    notes.register(container)
    container.add_middleware(Middleware(TeamHeader, team=container.settings.team_name))
"""

MIGRATION = '''"""The team's notes.

Revision ID: team_notes
Revises: {head}
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "team_notes"
down_revision: str | Sequence[str] | None = "{head}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("team_notes")
'''

NOTES_TEST = '''"""The team's notes: its route, its event handler, its middleware and setting."""

from __future__ import annotations

import asyncio

from httpx import AsyncClient


async def test_a_deleted_item_is_noted_by_the_team_handler(
    client: AsyncClient,
) -> None:
    created = await client.post("/api/v1/{parents}", json={{"name": "Ada"}})
    assert created.status_code == 201, created.text
    item_id = created.json()["data"]["id"]
    deleted = await client.delete(f"/api/v1/{parents}/{{item_id}}")
    assert deleted.status_code == 204, deleted.text

    for _ in range(200):
        noted = await client.get("/api/v1/notes")
        assert noted.status_code == 200, noted.text
        if noted.json()["data"]["texts"]:
            break
        await asyncio.sleep(0.05)
    assert noted.json()["data"]["texts"] == [f"deleted {{item_id}}"]
    assert noted.headers["x-team"] == "notes-team"
'''

ENDPOINT_ROW = "| `GET` | `/api/v1/notes` | what the team noted (the team's) |"
SETTING_FIELD = '    team_name: str = "notes-team"\n'
RUNBOOK = """# Runbook: notes

When a note is missing, follow its item:

```mermaid
flowchart LR
    delete["DELETE /api/v1/{parents}/{{id}}"] --> outbox --> broker --> handler["notes handler"]
```
"""
_REVISION = re.compile(r'^revision: str = "([^"]+)"', re.MULTILINE)
_DOWN = re.compile(r"^down_revision[^=]*= (.+)$", re.MULTILINE)


def migration_head(versions: Path) -> str:
    revisions, followed = set(), set()
    for script in versions.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        if revision := _REVISION.search(text):
            revisions.add(revision[1])
        if down := _DOWN.search(text):
            followed.update(re.findall(r'"([^"]+)"', down[1]))
    (head,) = revisions - followed
    return head


def with_imports(text: str, extra: list[str]) -> str:
    """`text` with first-party `extra` imports merged into its last import block."""
    lines = text.split("\n")
    block = [i for i, line in enumerate(lines) if line.startswith("from ")]
    first_party = [i for i in block if i > block[0] and lines[i - 1] == ""]
    start = first_party[-1] if first_party else block[-1] + 1
    end = max(block) + 1
    merged = sorted(lines[start:end] + extra, key=lambda s: s.split()[1].lower())
    return "\n".join(lines[:start] + merged + lines[end:])


def after_register_docstring(text: str, body: str) -> str:
    """`text` with `body` written into `register()`, after its docstring."""
    lines = text.split("\n")
    (start,) = [i for i, line in enumerate(lines) if line.startswith("def register(")]
    end = next(i for i in range(start + 1, len(lines)) if lines[i].endswith('"""'))
    return "\n".join([*lines[: end + 1], body.rstrip("\n"), *lines[end + 1 :]])


@dataclass
class Service:
    """Where one service of the project keeps what the team edits."""

    root: Path
    pkg: str
    platform: str
    settings_file: Path

    @property
    def src(self) -> Path:
        return self.root / "src" / self.pkg


def service_of(project: Path, architecture: str) -> Service:
    answers = answers_of(project)
    package, first = answers["package_name"], answers["domains"][0]
    if architecture == "microservices":
        root = project / "services" / first
        pkg = f"{package}_{first}"
        return Service(
            root, pkg, f"{package}_platform", root / "src" / pkg / "service_settings.py"
        )
    src = project / "src" / package
    return Service(
        project, package, f"{package}.shared", src / "shared" / "service_settings.py"
    )


def grow_by_hand(service: Service, parents: str) -> list[Path]:
    """The team's edits, in files it owns; returns the files to find unchanged."""
    names = {
        "pkg": service.pkg,
        "platform": service.platform,
        "parents": parents,
        "parent": parents.removesuffix("s"),
        # A service of a system has settings of its own; a monolith, the platform's.
        "settings_module": (
            f"{service.pkg}.config"
            if (service.src / "config.py").is_file()
            else f"{service.platform}.config"
        ),
    }
    (service.src / "notes.py").write_text(NOTES.format(**names))
    imports = [
        f"from {service.pkg}.notes import CONSUMER, NoteService, router",
        f"from {names['settings_module']} import Settings",
        f"from {service.platform}.container import Container",
    ]
    names["imports"] = "\n".join(sorted(imports, key=lambda s: s.split()[1]))
    (service.src / "wiring" / "notes.py").write_text(NOTES_WIRING.format(**names))
    (service.src / "team_header.py").write_text(TEAM_HEADER)
    hooks = service.src / "app_extensions.py"
    text = with_imports(
        hooks.read_text(encoding="utf-8"),
        [
            f"from {service.pkg}.team_header import TeamHeader",
            f"from {service.pkg}.wiring import notes",
        ],
    )
    text = text.replace(
        "from fastapi import FastAPI\n",
        "from fastapi import FastAPI\nfrom starlette.middleware import Middleware\n",
    )
    hooks.write_text(after_register_docstring(text, REGISTER_BODY), encoding="utf-8")
    with service.settings_file.open("a", encoding="utf-8") as settings:
        settings.write("\n" + SETTING_FIELD)
    versions = service.root / "migrations" / "versions"
    head = migration_head(versions)
    (versions / "team_notes.py").write_text(MIGRATION.format(head=head))
    (service.root / "tests" / "api" / "test_notes.py").write_text(
        NOTES_TEST.format(**names)
    )
    with (service.root / "docs" / "service.md").open("a", encoding="utf-8") as doc:
        doc.write(ENDPOINT_ROW + "\n")
    (service.root / "docs" / "runbook.md").write_text(RUNBOOK.format(**names))
    return [
        service.src / "notes.py",
        service.src / "wiring" / "notes.py",
        service.src / "team_header.py",
        hooks,
        service.settings_file,
        versions / "team_notes.py",
        service.root / "tests" / "api" / "test_notes.py",
        service.root / "docs" / "service.md",
        service.root / "docs" / "runbook.md",
    ]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tagged_clone(tmp_path_factory.mktemp("template") / "backend-architect")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("architecture", "broker"),
    [
        ("monolith", "rabbitmq"),
        ("modular_monolith", "nats"),
        ("microservices", "rabbitmq"),
    ],
)
def test_a_service_grown_by_hand_takes_a_new_domain_without_a_merge(
    architecture: str, broker: str, template: Path, tmp_path: Path
) -> None:
    project = generate(
        template,
        RELEASES.next_tag,
        tmp_path / "service",
        {
            "project_name": "Note Desk",
            "architecture": architecture,
            "domains": "[users, orders]",
            "broker": broker,
        },
    )
    service = service_of(project, architecture)
    kept = {path: digest(path) for path in grow_by_hand(service, "users")}
    commit_all(project, "The team grows its service by hand")

    data = ["--data=domains=[users, orders, invoices]"]
    if architecture != "microservices":
        # The new domain refers to an existing one, whose code is the team's: the
        # platform keeps the delete behaviour (409, or the caches after a cascade).
        on_delete = "cascade" if architecture == "monolith" else "restrict"
        data.append(
            "--data=entities={invoices: {number: {type: string, unique: true},"
            f" user_id: {{type: ref, to: users, on_delete: {on_delete}}}}}}}"
        )
    done = update(project, "--vcs-ref=:current:", *data)

    assert done.returncode == 0, done.stderr
    assert leftovers(project) == []
    for path, sha in kept.items():
        assert path.is_file() and digest(path) == sha, f"{path} changed or went away"
    if architecture == "microservices":
        assert (
            project
            / "services"
            / "invoices"
            / "src"
            / "note_desk_invoices"
            / "wiring"
            / "invoices.py"
        ).is_file()
    else:
        assert (service.src / "wiring" / "invoices.py").is_file()
        added = (project / "migrations" / "versions" / "add_invoices.py").read_text()
        assert 'down_revision: str | Sequence[str] | None = "team_notes"' in added
    commit_all(project, "Add invoices through the template")
    passes_its_gates(project, tmp_path)
    # The team's runbook joined its service's docs site, its diagram drawn.
    assert docs_site_problems(project) == []
    assert (service.root / "site" / "runbook" / "index.html").is_file()

    # A diagram Mermaid cannot read fails the build, naming the page.
    with (service.root / "docs" / "runbook.md").open("a", encoding="utf-8") as doc:
        doc.write("\n```mermaid\nflowchart LR\n    a --> \n```\n")
    built = subprocess.run(
        ["make", "docs"],
        cwd=service.root,
        env=project_env(AnswerSet("growth", {"database": "sqlite"})),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode != 0
    assert "runbook.md: diagram 2 cannot be drawn" in built.stdout + built.stderr
