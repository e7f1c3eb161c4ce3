"""extensions/scaffold.py: how an existing project is read for the scaffold-once rules."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from helpers import REPO_ROOT


def _load() -> ModuleType:
    path = REPO_ROOT / "extensions" / "scaffold.py"
    spec = importlib.util.spec_from_file_location("template_scaffold", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


scaffold = _load()


def migration(revision: str, down: str) -> str:
    return f'revision: str = "{revision}"\ndown_revision: str | None = {down}\n'


def write_project(
    root: Path,
    domains: list[str],
    scripts: dict[str, str],
    broker: str | None = None,
) -> Path:
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    for name, text in scripts.items():
        (versions / name).write_text(text)
    answers: dict[str, Any] = {"_commit": "v0.4.0", "domains": domains}
    if broker is not None:
        answers["broker"] = broker
    (root / ".copier-answers.yml").write_text(yaml.safe_dump(answers))
    subprocess.run(["git", "init", "--quiet", str(root)], check=True)
    return root


def hook(destination: Path, domains: list[str], broker: str = "none") -> dict[str, Any]:
    context: dict[str, Any] = {
        "_copier_conf": {"dst_path": destination},
        "domains": domains,
        "broker": broker,
    }
    scaffold.ScaffoldContext.hook(None, context)
    return context


def test_heads_are_revisions_nothing_follows(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_initial.py").write_text(migration("0001", "None"))
    (versions / "0002_accounts.py").write_text(migration("0002", '"0001"'))
    (versions / "a1_team.py").write_text(migration("a1", '"0002"'))
    (versions / "b2_team.py").write_text(migration("b2", '"0002"'))
    (versions / "notes.txt").write_text('revision = "ignored"')

    assert scaffold.migration_heads(versions) == ["a1", "b2"]

    (versions / "c3_merge.py").write_text(
        'revision = "c3"\ndown_revision = (\n    "a1",\n    "b2",\n)\n'
    )
    assert scaffold.migration_heads(versions) == ["c3"]


def test_a_new_project_has_nothing_scaffolded(tmp_path: Path) -> None:
    context = hook(tmp_path, ["users", "orders"])

    assert context["scaffolded_domains"] == []
    assert context["added_domains"] == []
    assert context["migration_heads"] == []


def test_an_existing_project_names_its_domains_and_the_added_ones(
    tmp_path: Path,
) -> None:
    project = write_project(
        tmp_path / "service",
        ["users", "orders"],
        {"0001_initial.py": migration("0001", "None")},
    )

    context = hook(project, ["users", "orders", "invoices", "refunds"])

    assert context["scaffolded_domains"] == ["users", "orders"]
    assert context["added_domains"] == ["invoices", "refunds"]
    assert context["migration_heads"] == ["0001"]


def test_the_project_is_read_once_per_commit(tmp_path: Path) -> None:
    """Copier rewrites the answers file while it renders: later reads must not see it."""
    project = write_project(
        tmp_path / "service", ["users"], {"0001_initial.py": migration("0001", "None")}
    )
    subprocess.run(
        ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@e.com",
         "commit", "--quiet", "--allow-empty", "-m", "one"],
        check=True,
    )  # fmt: skip
    assert hook(project, ["users", "orders"])["added_domains"] == ["orders"]

    answers = project / ".copier-answers.yml"
    answers.write_text(yaml.safe_dump({"domains": ["users", "orders"]}))
    assert hook(project, ["users", "orders"])["added_domains"] == ["orders"]

    subprocess.run(
        ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@e.com",
         "commit", "--quiet", "--allow-empty", "-m", "two"],
        check=True,
    )  # fmt: skip
    assert hook(project, ["users", "orders"])["added_domains"] == []


@pytest.mark.parametrize("content", ["", "just text", "domains: users", ": bad: yaml"])
def test_an_unreadable_answers_file_counts_as_a_new_project(
    tmp_path: Path, content: str
) -> None:
    (tmp_path / ".copier-answers.yml").write_text(content)

    context = hook(tmp_path, ["users"])

    assert context["scaffolded_domains"] == []
    assert context["added_domains"] == []


def test_a_new_project_with_a_broker_has_the_sample_event_flow(tmp_path: Path) -> None:
    context = hook(tmp_path / "new", ["users", "orders"], broker="nats")

    assert context["sample_events"] is True


def test_a_single_domain_has_no_sample_event_flow(tmp_path: Path) -> None:
    assert hook(tmp_path / "new", ["invoices"], broker="nats")["sample_events"] is False


@pytest.mark.parametrize(
    ("before", "after", "flow"),
    [
        # Turned on by this update: the sample code is left as it was.
        (None, "redis", False),
        ("none", "rabbitmq", False),
        # On before: the sample code has the flow.
        ("nats", "nats", True),
        ("nats", "redis", True),
        # Off: nothing at all.
        ("none", "none", False),
    ],
)
def test_turning_a_broker_on_in_an_existing_project(
    tmp_path: Path, before: str | None, after: str, flow: bool
) -> None:
    project = write_project(
        tmp_path / "service",
        ["users", "orders"],
        {"0001_initial.py": migration("0001", "None")},
        broker=before,
    )

    context = hook(project, ["users", "orders"], broker=after)

    assert context["sample_events"] is flow


@pytest.mark.parametrize(
    ("domains", "flow"),
    [
        # The publisher's sample code is old: it emits nothing, so no flow.
        (["users", "orders"], False),
        # Both sample modules are written by this run, with the flow.
        (["accounts", "entries", "users"], True),
    ],
)
def test_domains_added_with_the_broker_get_the_flow_if_both_are_new(
    tmp_path: Path, domains: list[str], flow: bool
) -> None:
    project = write_project(
        tmp_path / "service", ["users"], {"0001_initial.py": migration("0001", "None")}
    )

    context = hook(project, domains, broker="rabbitmq")

    assert context["sample_events"] is flow
