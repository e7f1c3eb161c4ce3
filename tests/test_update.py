"""`copier update` keeps a service's own work, release to release (docs/updating.md).

Every test works on a scratch clone of this repository tagged from releases.toml, with
the working tree committed on top as the next release (tests/releases.py). A service
is generated from a release, committed, edited the way a team edits one, committed
again, and updated to the working tree with the Copier CLI, as a user would.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from answer_sets import AnswerSet
from helpers import (
    failure_report,
    fewer_schema_examples,
    load_tool,
    project_env,
    run_logged,
)
from releases import (
    ReleaseList,
    load_releases,
    tagged_clone,
    version_key,
)
from services import answers_of, commit_all, copier, generate, git, leftovers

RELEASES = load_releases()
MAKE_TIMEOUT_S = 15 * 60
RENAME_LINE = "rename: .github/workflows/ci.yml -> .github/workflows/checks.yml"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tagged_clone(tmp_path_factory.mktemp("template") / "backend-architect")


def update(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return copier("update", "--trust", "--defaults", *args, cwd=project)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make(project: Path, tmp_path: Path, *targets: str) -> None:
    env = project_env(AnswerSet("update", {"database": "sqlite"}))
    code, output = run_logged(
        ["make", "-k", *targets],
        cwd=project,
        env=env,
        timeout_s=MAKE_TIMEOUT_S,
        log=tmp_path / f"make-{targets[0]}.log",
    )
    assert code == 0, failure_report(f"updated ({' '.join(targets)})", code, output)


# What an updated project still passes: every gate of `make check` but the coverage
# measure, which test_generated.py holds each answer set to (the suite runs without
# it in half the time).
GATES = ("lint", "typecheck", "imports", "test", "docs")


def passes_its_gates(project: Path, tmp_path: Path) -> None:
    fewer_schema_examples(project)
    make(project, tmp_path, *GATES)


# --- what a service team does to its repository between two updates -------------

GREETINGS_USE_CASE = '''"""Greetings: a use case the service team added."""

from __future__ import annotations


def greet(name: str) -> str:
    """Say hello to `name`; blank names stay anonymous."""
    return f"Hello, {name.strip() or 'anonymous'}!"
'''

GREETINGS_ROUTE = '''"""Greetings over HTTP: a route the service team added."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import Response

from {pkg}.application.greetings import greet
from {pkg}.shared.auth.dependencies import Reader
from {pkg}.shared.http.envelope import Envelope, ok

router = APIRouter(prefix="/api/v1", tags=["greetings"])


class Greeting(BaseModel):
    message: str


@router.get("/greetings/{{name}}", response_model=Envelope[Greeting])
async def get_greeting(name: str, _: Reader) -> Response:
    """Greet `name`."""
    return ok(Greeting(message=greet(name)))
'''

GREETINGS_TEST = '''"""The greeting route the service team added."""

from __future__ import annotations

from httpx import AsyncClient


async def test_greets_by_name(client: AsyncClient) -> None:
    response = await client.get("/api/v1/greetings/ada")

    assert response.status_code == 200
    assert response.json()["data"] == {"message": "Hello, ada!"}


async def test_needs_a_principal(anonymous: AsyncClient) -> None:
    response = await anonymous.get("/api/v1/greetings/ada")

    assert response.status_code == 401
'''

ENDPOINT_ROW = "| `GET` | `/api/v1/greetings/{name}` | greet someone (the team's) |"
DEPENDENCY = '    "anyio>=4",'
MAKE_TARGET = "greet: install ## Say hello (the team's target)\n\t@echo hello\n"
CI_STEP = "      - name: List the installed packages (the team's step)\n        run: uv pip list\n"
SETTING_FIELD = '    greeting_style: str = "plain"\n'


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


class TeamEdits:
    """Typical changes of a monolith service with auth, and how to tell they survived.

    Where the release has extension points (app_extensions.py, service_settings.py,
    docs/service.md, the dependency marker), the edits go there, as docs/updating.md
    asks; older releases had none, so there the team edited the owned files.
    """

    def __init__(self, project: Path) -> None:
        self.project = project
        self.pkg = answers_of(project)["package_name"]
        self.src = project / "src" / self.pkg
        self.extension_points = (self.src / "app_extensions.py").is_file()
        domains = answers_of(project)["domains"]
        self.deleted = project / "tests" / "unit" / f"test_{domains[-1]}_service.py"
        self.ci = (
            project
            / ".github"
            / "workflows"
            / ("checks.yml" if self.extension_points else "ci.yml")
        )
        self.kept: dict[Path, str] = {}

    def apply(self) -> None:
        p, pkg = self.project, self.pkg
        (self.src / "application" / "greetings.py").write_text(GREETINGS_USE_CASE)
        (self.src / "api" / "greetings.py").write_text(GREETINGS_ROUTE.format(pkg=pkg))
        (p / "tests" / "api" / "test_greetings.py").write_text(GREETINGS_TEST)
        if self.extension_points:
            replace_once(
                self.src / "app_extensions.py",
                "    return []\n",
                "    return [greetings.router]\n",
            )
            replace_once(
                self.src / "app_extensions.py",
                "from fastapi import APIRouter, FastAPI\n\n",
                f"from fastapi import APIRouter, FastAPI\n\nfrom {pkg}.api import greetings\n",
            )
            with (p / "docs" / "service.md").open("a", encoding="utf-8") as doc:
                doc.write(ENDPOINT_ROW + "\n")
            with (self.src / "shared" / "service_settings.py").open("a") as settings:
                settings.write("\n" + SETTING_FIELD)
            marker = "    # The service's own dependencies go below this line"
            text = (p / "pyproject.toml").read_text()
            line_end = text.index("\n", text.index(marker)) + 1
            (p / "pyproject.toml").write_text(
                text[:line_end] + DEPENDENCY + "\n" + text[line_end:]
            )
            with (p / "Makefile.local").open("a") as makefile:
                makefile.write("\n" + MAKE_TARGET)
        else:
            routes = self.src / "api" / "routes.py"
            replace_once(
                routes,
                "from fastapi import APIRouter\n\n",
                f"from fastapi import APIRouter\n\nfrom {pkg}.api import greetings\n",
            )
            text = routes.read_text()
            closing = text.rindex("    ]")
            routes.write_text(
                text[:closing] + "        greetings.router,\n" + text[closing:]
            )
            doc = p / "docs" / "architecture.md"
            text = doc.read_text()
            table_end = text.index(
                "\n\n", text.index("| `GET` |", text.index("## Endpoints"))
            )
            doc.write_text(text[:table_end] + "\n" + ENDPOINT_ROW + text[table_end:])
            replace_once(
                p / "pyproject.toml",
                '    "aiosqlite>=0.21,<1",\n',
                '    "aiosqlite>=0.21,<1",\n' + DEPENDENCY + "\n",
            )
            (p / "Makefile.local").write_text(MAKE_TARGET)
        replace_once(
            p / ".env.example", "APP_CACHE_TTL_S=60\n", "APP_CACHE_TTL_S=120\n"
        )
        with self.ci.open("a", encoding="utf-8") as ci:
            ci.write(CI_STEP)
        self.deleted.unlink()
        for path in (
            self.src / "application" / "greetings.py",
            self.src / "api" / "greetings.py",
            p / "tests" / "api" / "test_greetings.py",
            self.src / "domain" / "users.py",
            self.src / "api" / "users.py",
            p / "README.md",
        ):
            self.kept[path] = digest(path)

    def assert_kept(self) -> None:
        p = self.project
        for path, sha in self.kept.items():
            assert (
                path.is_file() and digest(path) == sha
            ), f"{path} changed or went away"
        assert not self.deleted.exists(), "a deleted sample file came back"
        assert DEPENDENCY in (p / "pyproject.toml").read_text()
        assert MAKE_TARGET in (p / "Makefile.local").read_text()
        assert "APP_CACHE_TTL_S=120\n" in (p / ".env.example").read_text()
        workflows = p / ".github" / "workflows"
        assert not (workflows / "ci.yml").exists()
        assert CI_STEP in (workflows / "checks.yml").read_text()
        documented = (p / "docs" / "service.md").read_text() + (
            p / "docs" / "architecture.md"
        ).read_text()
        assert documented.count(ENDPOINT_ROW) == 1
        registered = (self.src / "app_extensions.py").read_text()
        if not self.extension_points:
            # The route list is gone since 0.5.0; the edited one is kept, and included.
            assert not (self.src / "api" / "routes.py").exists()
            assert "legacy_routes.api_routers()" in registered
            registered = (self.src / "api" / "legacy_routes.py").read_text()
        assert "greetings.router" in registered
        if self.extension_points:
            assert (
                SETTING_FIELD
                in (self.src / "shared" / "service_settings.py").read_text()
            )


def start_versions(releases: ReleaseList) -> list[str]:
    """The release before the next one, and the oldest that may update straight."""
    previous = releases.latest.version
    return sorted({previous, releases.oldest_supported}, key=version_key)


@pytest.mark.slow
@pytest.mark.parametrize("version", start_versions(RELEASES))
def test_update_from_a_release_keeps_the_service_work(
    version: str, template: Path, tmp_path: Path
) -> None:
    release = RELEASES.get(version)
    project = generate(
        template, release.tag, tmp_path / "service", {"project_name": "Order Desk"}
    )
    # The service's database, at the release's last revision ("0002", the accounts).
    make(project, tmp_path, "migrate")
    (database,) = (project / "var").glob("*.db")
    tables_before = database_tables(database)
    assert "auth_accounts" in tables_before
    edits = TeamEdits(project)
    edits.apply()
    commit_all(project, "The team's own work")

    done = update(project)

    assert done.returncode == 0, done.stderr
    assert leftovers(project) == []
    assert answers_of(project)["_commit"] == RELEASES.next_tag
    edits.assert_kept()
    # The rename migration of v0.4.0 runs once, and only when the update crosses it.
    crosses = version_key(version) < (0, 4, 0)
    assert (done.stdout + done.stderr).count(RENAME_LINE) == (1 if crosses else 0)
    commit_all(project, "Update the template")
    # The accounts now come from the platform's branch: the database, which has them
    # already, is at its head without creating them again.
    make(project, tmp_path, "migrate")
    assert database_tables(database) == tables_before
    assert database_versions(database) == {"0002"}
    passes_its_gates(project, tmp_path)


@pytest.mark.slow
def test_an_update_that_cannot_see_the_releases_it_crosses_stops_before_writing(
    template: Path, tmp_path: Path
) -> None:
    """Without release tags, Copier would skip the steps that carry edits across a
    release (here the v0.4.0 rename of ci.yml); the update refuses instead, changes
    nothing, and says how to tag. Tagged, the same update carries the edit over."""
    untagged = tmp_path / "template"
    git(tmp_path, "clone", "--quiet", "--no-tags", str(template), str(untagged))
    oldest = RELEASES.get(RELEASES.oldest_supported)
    project = generate(
        untagged, oldest.commit, tmp_path / "service", {"project_name": "Order Desk"}
    )
    ci = project / ".github" / "workflows" / "ci.yml"
    with ci.open("a", encoding="utf-8") as workflow:
        workflow.write(CI_STEP)
    commit_all(project, "The team's CI step")
    head = git(project, "rev-parse", "HEAD")

    refused = update(project, "--vcs-ref=main")

    assert refused.returncode != 0
    assert f"the template at {untagged} has no release tags" in refused.stderr
    assert f"make -C {untagged} tags" in refused.stderr
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "rev-parse", "HEAD") == head
    assert CI_STEP in ci.read_text(encoding="utf-8")

    # Tagged as `make tags` does, main is a commit after the newest release.
    tagged = load_tool("release_tags").main(["--repo", str(untagged)])
    assert tagged == 0
    refused = update(project, "--vcs-ref=main")
    assert refused.returncode != 0
    said = " ".join(refused.stderr.split())
    assert f"a commit after release v{RELEASES.latest.version}" in said
    assert git(project, "status", "--porcelain") == ""

    # Once main is a release, the update crosses v0.4.0 and keeps the edit.
    git(untagged, "tag", RELEASES.next_tag, "main")
    done = update(project)
    assert done.returncode == 0, done.stderr
    assert RENAME_LINE in done.stdout + done.stderr
    assert not ci.exists()
    assert CI_STEP in (ci.parent / "checks.yml").read_text(encoding="utf-8")


def database_tables(database: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        return {name for (name,) in rows}


def database_versions(database: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT version_num FROM alembic_version")
        return {version for (version,) in rows}


API_KEYS_COLUMN = '        sa.Column("scope", sa.String(length=50), nullable=True),\n'


@pytest.mark.parametrize("edited", [False, True], ids=["as-rendered", "edited"])
def test_the_platform_tables_of_a_release_move_to_the_platform_branch(
    template: Path, tmp_path: Path, edited: bool
) -> None:
    """A service from the latest release keeps its 0002 revision: as one that creates
    nothing and depends on the platform's, or, if the team changed it, as it was and
    with a message that says what to do."""
    project = generate(
        template,
        RELEASES.latest.tag,
        tmp_path / "service",
        {"project_name": "Key Desk", "auth": "api_key"},
    )
    legacy = project / "migrations" / "versions" / "0002_api_keys.py"
    if edited:
        text = legacy.read_text(encoding="utf-8")
        anchor = '        sa.Column("name", sa.String(length=100), nullable=False),\n'
        legacy.write_text(text.replace(anchor, anchor + API_KEYS_COLUMN))
        commit_all(project, "The team's column")
    before = legacy.read_bytes()

    done = update(project)

    assert done.returncode == 0, done.stderr
    assert leftovers(project) == []
    platform = project / "src" / "key_desk" / "shared" / "migrations"
    assert (platform / "api_keys_0001.py").is_file()
    message = f"{legacy.relative_to(project)} kept as it was"
    if edited:
        assert legacy.read_bytes() == before
        assert message in done.stderr
        return
    assert message not in done.stderr
    stub = legacy.read_text(encoding="utf-8")
    assert 'revision: str = "0002"' in stub
    assert 'down_revision: str | None = "0001"' in stub
    assert 'depends_on: str | Sequence[str] | None = "platform_api_keys_0001"' in stub
    assert "op." not in stub
    for check in (
        ["ruff", "check"],
        ["ruff", "format", "--check"],
        ["black", "--check"],
    ):
        lint = subprocess.run(
            [sys.executable, "-m", *check, str(legacy)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.slow
def test_answers_change_through_update(template: Path, tmp_path: Path) -> None:
    """Add a domain, switch the cache, turn tracing, Kubernetes and a broker on: each
    an update of one answer."""
    project = generate(
        template,
        RELEASES.next_tag,
        tmp_path / "service",
        {
            "project_name": "Ledger",
            "architecture": "modular_monolith",
            "domains": "[accounts, entries]",
            "cache": "memory",
            "tracing": "false",
        },
    )
    pkg = "ledger"
    module = project / "src" / pkg / "modules" / "accounts"
    before = {path: digest(path) for path in module.rglob("*.py")}
    (project / "tests" / "unit" / "test_entries_service.py").unlink()
    commit_all(project, "The team dropped a sample test")

    changes: list[tuple[str, str, Path]] = [
        ("domains", "[accounts, entries, invoices]", project / "src" / pkg / "modules" / "invoices" / "application" / "service.py"),
        ("cache", "two_level", project / "src" / pkg / "shared" / "cache" / "two_level.py"),
        ("tracing", "true", project / "src" / pkg / "shared" / "tracing.py"),
        ("kubernetes", "true", project / "deploy" / "k8s" / "kustomization.yaml"),
        ("broker", "redis", project / "src" / pkg / "shared" / "events" / "bus.py"),
    ]  # fmt: skip
    for key, value, appears in changes:
        done = update(project, "--vcs-ref=:current:", f"--data={key}={value}")
        assert done.returncode == 0, done.stderr
        assert leftovers(project) == []
        assert answers_of(project)[key] == yaml.safe_load(value)
        assert appears.is_file(), f"{key}={value} did not render {appears}"
        make(project, tmp_path, "lint")
        commit_all(project, f"{key}={value}")

    versions = project / "migrations" / "versions"
    added = (versions / "add_invoices.py").read_text()
    assert 'down_revision: str | Sequence[str] | None = "0001"' in added
    # The outbox tables come with the platform's events branch; the service's own
    # history only gained the added domain's revision.
    assert sorted(p.name for p in versions.glob("*.py")) == [
        "0001_initial.py",
        "add_invoices.py",
    ]
    assert (
        project / "src" / pkg / "shared" / "migrations" / "events_0001.py"
    ).is_file()
    assert not (project / "tests" / "unit" / "test_entries_service.py").exists()
    assert {path: digest(path) for path in module.rglob("*.py")} == before
    passes_its_gates(project, tmp_path)


def test_recopy_keeps_scaffold_once_files(template: Path, tmp_path: Path) -> None:
    project = generate(
        template, RELEASES.next_tag, tmp_path / "service", {"auth": "none"}
    )
    domain = project / "src" / "acme_service" / "domain" / "users.py"
    domain.write_text(domain.read_text() + "\n# the team's note\n")
    (project / "tests" / "api" / "test_orders_api.py").unlink()
    settings = project / "src" / "acme_service" / "shared" / "service_settings.py"
    settings.write_text(settings.read_text() + '\n    region: str = "eu"\n')
    commit_all(project, "edits")

    done = copier("recopy", "--trust", "--defaults", "--overwrite", cwd=project)

    assert done.returncode == 0, done.stderr
    assert domain.read_text().endswith("# the team's note\n")
    assert 'region: str = "eu"' in settings.read_text()
    assert not (project / "tests" / "api" / "test_orders_api.py").exists()
    # Owned files are rendered again: a lost edit there is what recopy is for.
    assert (project / "src" / "acme_service" / "main.py").is_file()


@pytest.mark.slow
def test_a_microservices_system_gains_a_service_and_keeps_the_others_work(
    template: Path, tmp_path: Path
) -> None:
    """Adding a domain to a microservices system adds a service with a history of its
    own; the services that exist keep their code, and get no migration of the new one.
    The new one refers to an existing service's items: it asks that service over HTTP
    and follows the deletions it publishes already, which changes nothing there.
    """
    project = generate(
        template,
        RELEASES.next_tag,
        tmp_path / "system",
        {
            "project_name": "Ledger",
            "architecture": "microservices",
            "domains": "[accounts, entries]",
            "auth": "none",
            "broker": "nats",
        },
    )
    entries = project / "services" / "entries"
    domain = entries / "src" / "ledger_entries" / "domain" / "entries.py"
    domain.write_text(domain.read_text() + "\n\n# The team's own rules of entries.\n")
    settings = entries / "src" / "ledger_entries" / "service_settings.py"
    settings.write_text(settings.read_text() + '\n    region: str = "eu"\n')
    dropped = (
        project
        / "services"
        / "accounts"
        / "tests"
        / "unit"
        / "test_accounts_service.py"
    )
    dropped.unlink()
    versions = {
        service: sorted(p.name for p in (project / "services" / service / "migrations" / "versions").glob("*.py"))
        for service in ("accounts", "entries")
    }  # fmt: skip
    kept = {
        path: digest(path)
        for service in ("accounts", "entries")
        for path in (project / "services" / service / "src").rglob("*.py")
    }
    commit_all(project, "The team's work")

    done = update(
        project,
        "--vcs-ref=:current:",
        "--data=domains=[accounts, entries, ledgers]",
        "--data=entities={ledgers: {title: string,"
        " account_id: {type: ref, to: accounts, on_delete: cascade}}}",
    )

    assert done.returncode == 0, done.stderr
    assert leftovers(project) == []
    new = project / "services" / "ledgers"
    assert (new / "src" / "ledger_ledgers" / "bootstrap.py").is_file()
    assert (new / "migrations" / "versions" / "0001_initial.py").is_file()
    for service, names in versions.items():
        history = project / "services" / service / "migrations" / "versions"
        assert sorted(p.name for p in history.glob("*.py")) == names, service
    assert {path: digest(path) for path in kept} == kept
    code = new / "src" / "ledger_ledgers"
    wiring = (code / "wiring" / "ledgers.py").read_text(encoding="utf-8")
    assert 'remote_lookup(container, "accounts", settings.accounts_url)' in wiring
    assert "ACCOUNT_DELETED,\n        DELETE_WITH_ACCOUNT," in wiring
    assert not dropped.exists()
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    assert "SERVICES := accounts entries ledgers" in makefile
    make(project, tmp_path, "lint")
    # Its suite: its API against the stand-in accounts service, the deletions
    # through the broker.
    make(new, tmp_path, "test")
