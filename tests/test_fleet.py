"""tools/fleet.py: what a platform team reads about its services, and rolling updates.

The slow tests render three services from three releases of a tagged clone of this
repository (tests/releases.py), each a git repository of its own, and run the CLI on
them as a platform team would: `report --json` for versions, drift and state, the
table for people, and `update` for one service moved onto a branch.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import REPO_ROOT, load_tool
from releases import ReleaseList, load_releases, tagged_clone, version_key
from services import ANSWERS, answers_of, generate, git, leftovers, tool_env

FLEET = REPO_ROOT / "tools" / "fleet.py"

ENV = tool_env()

# The platform team's standard answers: every service below answers both keys itself.
STANDARD = {"cache": "redis", "rate_limit_per_minute": 100}


fleet = load_tool("fleet")


def run_fleet(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(FLEET), *map(str, args)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def report_json(*args: str | Path) -> tuple[int, dict[str, dict[str, Any]]]:
    """Exit code and the rows of `report --json`, by path."""
    result = run_fleet("report", "--json", *args)
    assert result.stdout, result.stderr
    return result.returncode, {row["path"]: row for row in json.loads(result.stdout)}


def newer_releases(tag: str, releases: ReleaseList) -> int:
    """Releases newer than `tag`: the recorded ones and the next (the working tree)."""
    versions = [r.version for r in releases.releases] + [releases.next_version]
    return sum(
        1 for v in versions if version_key(v) > version_key(tag.removeprefix("v"))
    )


# --- without rendering: reading `_commit` and comparing answers ----------------------


@pytest.mark.parametrize(
    ("commit", "label", "base_release"),
    [
        ("v0.3.0", "v0.3.0", "v0.3.0"),
        ("v0.3.0-4-gabc1234", "v0.3.0+4 commits", "v0.3.0"),
        ("v0.3.0-1-gabc1234", "v0.3.0+1 commit", "v0.3.0"),
        ("abc1234", "abc1234", None),
    ],
)
def test_commit_reads_as_the_release_it_is_or_follows(
    commit: str, label: str, base_release: str | None
) -> None:
    version = fleet.parse_commit(commit)

    assert version.label == label
    assert version.base_release == base_release


def test_drift_counts_a_missing_answer_and_reads_numbers_written_as_text() -> None:
    answers = {"python_version": "3.12", "tracing": True}
    standard = {"python_version": 3.12, "tracing": "true", "cache": "redis"}

    found = {d.key: d.answer for d in fleet.drift(answers, standard)}

    # "true" (a string) is not the boolean true: a typo in the standard shows as drift.
    assert found == {"tracing": True, "cache": None}


# --- three services from three releases ------------------------------------------------


@dataclass(frozen=True)
class Service:
    path: Path
    tag: str
    data: dict[str, Any]
    asked: frozenset[str]  # the questions of the release it was generated from


@dataclass(frozen=True)
class Fleet:
    clone: Path
    releases: ReleaseList
    services: dict[str, Service]
    standard_file: Path


def questions_at(clone: Path, tag: str) -> frozenset[str]:
    text = git(clone, "show", f"{tag}:copier.yml")
    merged: dict[str, Any] = {}
    for document in yaml.safe_load_all(text):
        merged.update(document or {})
    return frozenset(key for key in merged if not key.startswith("_"))


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    root = tmp_path_factory.mktemp("fleet")
    releases = load_releases()
    clone = tagged_clone(root / "template", releases)
    # Each service answers the standard's keys itself (-d); v0.2.0 asked neither
    # (caching and rate limiting came in v0.3.0), so its answers file has none.
    plan: dict[str, tuple[str, dict[str, Any]]] = {
        "billing": (releases.get("0.2.0").tag, {"cache": "redis"}),
        "orders": (
            releases.get("0.3.0").tag,
            {"cache": "none", "rate_limit_per_minute": 60},
        ),
        "search": (releases.next_tag, {"cache": "redis"}),
    }
    made: dict[str, Service] = {}
    for name, (tag, extra) in plan.items():
        data = {"project_name": name.title(), "rate_limit_per_minute": 100, **extra}
        generate(clone, tag, root / name, data)
        made[name] = Service(root / name, tag, data, questions_at(clone, tag))
    standard_file = root / "standard-answers.yml"
    standard_file.write_text(yaml.safe_dump(STANDARD), encoding="utf-8")
    return Fleet(clone, releases, made, standard_file)


def copy_of(service: Service, tmp_path: Path, name: str = "copy") -> Path:
    """A clone of a service's repository, for a test that changes it."""
    destination = tmp_path / name
    git(tmp_path, "clone", "--quiet", str(service.path), str(destination))
    return destination


@pytest.mark.slow
def test_report_gives_each_service_its_release_the_latest_and_how_far_behind(
    services: Fleet,
) -> None:
    code, rows = report_json(*(s.path for s in services.services.values()))

    assert code == 0
    for service in services.services.values():
        row = rows[str(service.path)]
        assert row["ok"] is True and row["error"] is None
        assert row["template"] == str(services.clone)
        assert row["version"] == service.tag
        assert row["latest"] == services.releases.next_tag
        assert row["behind"] == newer_releases(service.tag, services.releases)
        assert row["answers"]["project_name"] == service.data["project_name"]
        assert (row["dirty"], row["conflicts"], row["state"]) == (False, [], "clean")
        assert row["drift"] is None  # no --standard given


@pytest.mark.slow
def test_report_lists_the_answers_that_differ_from_the_standard(
    services: Fleet,
) -> None:
    _, rows = report_json(
        "--standard",
        services.standard_file,
        *(s.path for s in services.services.values()),
    )

    for service in services.services.values():
        # What the service was given, for the questions its release asked.
        answered = {k: v for k, v in service.data.items() if k in service.asked}
        expected = [
            {"key": key, "answer": answered.get(key), "standard": value}
            for key, value in STANDARD.items()
            if answered.get(key) != value
        ]
        assert rows[str(service.path)]["drift"] == expected, service.tag
    # The rows cover all three cases: a release that never asked, a different answer,
    # and a service on the standard.
    assert any(not d for d in (r["drift"] for r in rows.values()))
    assert any(
        d and d[0]["answer"] is None for d in (r["drift"] for r in rows.values())
    )


@pytest.mark.slow
def test_report_tells_dirty_checkouts_from_unresolved_conflicts(
    services: Fleet, tmp_path: Path
) -> None:
    service = services.services["search"]
    touched = copy_of(service, tmp_path, "touched")
    (touched / "README.md").write_text("edited\n", encoding="utf-8")
    marked = copy_of(service, tmp_path, "marked")
    conflicted = "pyproject.toml"
    text = (marked / conflicted).read_text(encoding="utf-8")
    (marked / conflicted).write_text(
        f"<<<<<<< before updating\n{text}=======\n>>>>>>> after updating\n",
        encoding="utf-8",
    )
    git(marked, "commit", "--quiet", "--all", "-m", "an unresolved update, committed")
    rejected = copy_of(service, tmp_path, "rejected")
    (rejected / "Makefile.rej").write_text("@@ -1 +1 @@\n", encoding="utf-8")

    code, rows = report_json(touched, marked, rejected)

    assert code == 0
    assert rows[str(touched)]["dirty"] is True
    assert rows[str(touched)]["state"] == "dirty"
    assert rows[str(touched)]["conflicts"] == []
    # Committed markers leave the tree clean, and still block the next update.
    assert rows[str(marked)]["dirty"] is False
    assert rows[str(marked)]["conflicts"] == [conflicted]
    assert rows[str(marked)]["state"] == "conflicts"
    assert rows[str(rejected)]["conflicts"] == ["Makefile.rej"]
    assert rows[str(rejected)]["state"] == "conflicts"


@pytest.mark.slow
def test_report_table_has_a_header_and_one_row_per_checkout(services: Fleet) -> None:
    paths = [str(s.path) for s in services.services.values()]

    result = run_fleet("report", "--standard", services.standard_file, *paths)

    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.rstrip("\n").splitlines()
    assert header.split() == [
        "CHECKOUT",
        "VERSION",
        "LATEST",
        "BEHIND",
        "DRIFT",
        "STATE",
    ]
    assert [row.split()[0] for row in rows] == paths
    for row, service in zip(rows, services.services.values(), strict=True):
        cells = row.split()
        assert cells[1:4] == [
            service.tag,
            services.releases.next_tag,
            str(newer_releases(service.tag, services.releases)),
        ]
        assert cells[-1] == "clean"


@pytest.mark.slow
def test_a_directory_that_is_no_service_is_an_error_row_and_exit_1(
    services: Fleet, tmp_path: Path
) -> None:
    plain = tmp_path / "not-a-service"
    plain.mkdir()
    (plain / "README.md").write_text("hello\n", encoding="utf-8")
    service = services.services["search"]

    code, rows = report_json(plain, service.path)

    assert code == 1
    assert rows[str(plain)]["ok"] is False
    assert ANSWERS in rows[str(plain)]["error"]
    assert rows[str(service.path)]["ok"] is True

    table = run_fleet("report", plain, service.path)
    assert table.returncode == 1
    assert f"error: no {ANSWERS}" in table.stdout.splitlines()[1]


@pytest.mark.slow
def test_update_commits_the_new_release_on_a_branch_and_refuses_a_dirty_checkout(
    services: Fleet, tmp_path: Path
) -> None:
    service = services.services["orders"]
    clean = copy_of(service, tmp_path, "clean")
    before = git(clean, "rev-parse", "HEAD").strip()
    dirty = copy_of(service, tmp_path, "dirty")
    (dirty / "README.md").write_text("work in progress\n", encoding="utf-8")
    target = services.releases.next_tag
    branch = f"template-update/{target}"
    remote = tmp_path / "team.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    git(clean, "remote", "add", "team", str(remote))

    result = run_fleet(
        "update", "--json", "--standard", services.standard_file, "--push",
        "--remote", "team", clean, dirty,
    )  # fmt: skip

    assert result.returncode == 1, result.stderr  # the dirty checkout was refused
    rows = {row["path"]: row for row in json.loads(result.stdout)}
    assert rows[str(clean)]["outcome"] == "updated", rows[str(clean)]["message"]
    assert git(clean, "branch", "--show-current").strip() == branch
    assert (
        git(clean, "log", "-1", "--format=%s").strip() == f"Update template to {target}"
    )
    assert git(clean, "rev-parse", "HEAD~1").strip() == before
    assert git(clean, "status", "--porcelain") == ""
    assert leftovers(clean) == []
    answers = answers_of(clean)
    assert answers["_commit"] == target
    # The standard answers the service did not have were applied; its own were kept.
    assert {key: answers[key] for key in STANDARD} == STANDARD
    assert answers["project_name"] == service.data["project_name"]
    assert rows[str(clean)]["data"] == {
        k: str(v) for k, v in STANDARD.items() if service.data[k] != v
    }

    # Pushed to the named remote; a remote on no known forge gets no link.
    assert rows[str(clean)]["pushed"] == "team"
    assert rows[str(clean)]["link"] is None
    pushed = git(remote, "rev-parse", f"refs/heads/{branch}").strip()
    assert pushed == git(clean, "rev-parse", "HEAD").strip()

    assert rows[str(dirty)]["outcome"] == "refused"
    assert rows[str(dirty)]["pushed"] is None
    assert "uncommitted" in rows[str(dirty)]["message"]
    assert git(dirty, "branch", "--list", branch) == ""
    assert git(dirty, "status", "--porcelain").split() == ["M", "README.md"]

    _, report = report_json(clean)
    assert report[str(clean)]["behind"] == 0


@pytest.mark.parametrize(
    ("remote", "link"),
    [
        (
            "git@github.com:acme/orders.git",
            "https://github.com/acme/orders/compare/main...template-update/v0.5.0?expand=1",
        ),
        (
            "https://github.com/acme/orders",
            "https://github.com/acme/orders/compare/main...template-update/v0.5.0?expand=1",
        ),
        (
            "ssh://git@gitlab.example.com:2222/platform/team/orders.git",
            (
                "https://gitlab.example.com/platform/team/orders/-/merge_requests/new?"
                "merge_request%5Bsource_branch%5D=template-update%2Fv0.5.0"
                "&merge_request%5Btarget_branch%5D=main"
            ),
        ),
        ("/srv/git/orders.git", None),
        ("https://git.example.com/acme/orders.git", None),
    ],
)
def test_a_pushed_branch_links_to_the_page_that_proposes_it(
    remote: str, link: str | None
) -> None:
    assert fleet.proposal_link(remote, "template-update/v0.5.0", "main") == link


@pytest.mark.slow
def test_update_that_conflicts_is_left_on_its_branch_uncommitted(
    services: Fleet, tmp_path: Path
) -> None:
    service = services.services["orders"]
    target = services.releases.next_tag
    owned = ".pre-commit-config.yaml"  # template-owned, rendered as is
    changed = subprocess.run(
        ["git", "diff", "--quiet", service.tag, target, "--", f"template/{owned}"],
        cwd=services.clone,
        check=False,
    )
    precondition = f"{owned} changed from {service.tag} to {target}"
    assert changed.returncode == 1, precondition
    checkout = copy_of(service, tmp_path)
    ours = "".join(
        f"# our version: {line}\n"
        for line in (checkout / owned).read_text(encoding="utf-8").splitlines()
    )
    (checkout / owned).write_text(ours, encoding="utf-8")
    git(checkout, "commit", "--quiet", "--all", "-m", "our own hooks")
    before = git(checkout, "rev-parse", "HEAD").strip()

    result = run_fleet("update", "--json", "--push", checkout)

    assert result.returncode == 1
    (row,) = json.loads(result.stdout)
    assert row["outcome"] == "conflicts"
    # Conflicts are resolved by a person before anything is pushed.
    assert row["pushed"] is None
    assert git(checkout, "ls-remote", "--heads", "origin", row["branch"]) == ""
    assert owned in row["conflicts"]
    assert owned in leftovers(checkout)
    assert git(checkout, "branch", "--show-current").strip() == row["branch"]
    assert row["branch"] == f"template-update/{target}"
    assert git(checkout, "rev-parse", "HEAD").strip() == before  # nothing committed
