"""The generated tools/template_update.py, run as the scheduled CI job runs it, against
a local bare remote (`--open none`: no GitHub or GitLab here).

A service is generated from the release that ships the script (the working tree,
tagged as the next release by tests/releases.py) and pushed to a bare repository.
The template then gets one more release, whose CHANGELOG entry and change to a
template-owned file the tests look for in what the script proposes.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from releases import ReleaseList, load_releases, tagged_clone
from services import COPIER, answers_of, commit_all, generate, git, tool_env

pytestmark = pytest.mark.slow

RELEASES: ReleaseList = load_releases()
# The release after the working tree's, made by `released` below.
MAJOR, MINOR, PATCH = (int(part) for part in RELEASES.next_version.split("."))
LATER = f"{MAJOR}.{MINOR}.{PATCH + 1}"
LATER_ENTRY = "- The pre-commit hooks check merge conflicts in every file."
# The line of .pre-commit-config.yaml that the later release changes.
HOOK_LINE = "        args: [--assume-in-merge]"
BRANCH = "template-update"


def passing_check(marker: Path) -> str:
    """A check command that passes and leaves `marker`, to show that it ran."""
    code = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')"
    return shlex.join([sys.executable, "-c", code])


FAILING_CHECK = shlex.join(
    [sys.executable, "-c", "print('3 tests failed'); raise SystemExit(3)"]
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template with its releases, the working tree the newest."""
    return tagged_clone(tmp_path_factory.mktemp("template") / "backend-architect")


@pytest.fixture(scope="module")
def released(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of `template` with one release more: a hook argument changed, and its
    CHANGELOG entry."""
    clone = tmp_path_factory.mktemp("released") / "backend-architect"
    git(template.parent, "clone", "--quiet", str(template), str(clone))
    hooks = clone / "template" / ".pre-commit-config.yaml"
    text = hooks.read_text(encoding="utf-8")
    assert HOOK_LINE in text
    hooks.write_text(
        text.replace(HOOK_LINE, "        args: [--assume-in-merge, --verbose]"),
        encoding="utf-8",
    )
    changelog = clone / "CHANGELOG.md"
    before, unreleased, after = changelog.read_text(encoding="utf-8").partition(
        "## Unreleased\n"
    )
    assert unreleased, "CHANGELOG.md has no '## Unreleased' heading"
    # As a release is cut: what was unreleased is the working tree's release.
    entry = f"## {LATER} (2027-01-04): hooks\n\n{LATER_ENTRY}\n\n"
    previous = f"## {RELEASES.next_version} (2027-01-01): the working tree\n"
    changelog.write_text(
        before + unreleased + "\n" + entry + previous + after, encoding="utf-8"
    )
    commit_all(clone, f"Release {LATER}")
    git(clone, "tag", f"v{LATER}")
    return clone


def service(template: Path, where: Path) -> Path:
    """A service generated from the newest release of `template` and pushed to a
    bare repository, its `origin`."""
    remote = where / "remote.git"
    git(where, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    project = generate(template, RELEASES.next_tag, where / "service", {})
    git(project, "remote", "add", "origin", str(remote))
    git(project, "push", "--quiet", "origin", "main")
    return project


def propose(
    project: Path, *args: str, description: Path | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "tools/template_update.py", "--copier", COPIER, *args]
    if description is not None:
        command += ["--description", str(description)]
    return subprocess.run(
        command,
        cwd=project,
        env=tool_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def remote_branches(project: Path) -> set[str]:
    listed = git(project, "ls-remote", "--heads", "origin")
    return {line.rpartition("refs/heads/")[2] for line in listed.splitlines()}


def left_as_it_was(project: Path, head: str) -> None:
    assert git(project, "branch", "--show-current").strip() == "main"
    assert git(project, "rev-parse", "HEAD").strip() == head
    assert git(project, "status", "--porcelain", "--untracked-files=all") == ""


def test_without_a_newer_release_nothing_is_pushed(
    template: Path, tmp_path: Path
) -> None:
    project = service(template, tmp_path)
    head = git(project, "rev-parse", "HEAD").strip()

    done = propose(project, "--check", FAILING_CHECK)

    assert done.returncode == 0, done.stderr
    assert f"Up to date: {RELEASES.next_tag}" in done.stdout
    assert remote_branches(project) == {"main"}
    left_as_it_was(project, head)


def test_a_new_release_is_proposed_on_a_branch_and_refreshed(
    released: Path, tmp_path: Path
) -> None:
    project = service(released, tmp_path)
    head = git(project, "rev-parse", "HEAD").strip()
    description = tmp_path / "description.md"
    marker = tmp_path / "checked"

    done = propose(project, "--check", passing_check(marker), description=description)

    assert done.returncode == 0, done.stdout + done.stderr
    left_as_it_was(project, head)
    assert remote_branches(project) == {"main", BRANCH}
    proposed = git(project, "show", f"origin/{BRANCH}:.pre-commit-config.yaml")
    assert "--assume-in-merge, --verbose" in proposed
    answers = git(project, "show", f"origin/{BRANCH}:.copier-answers.yml")
    assert f"_commit: v{LATER}" in answers
    assert git(project, "rev-parse", f"origin/{BRANCH}~1").strip() == head
    text = description.read_text(encoding="utf-8")
    assert f"from {RELEASES.next_tag} to v{LATER}" in text
    assert f"### {LATER} (2027-01-04): hooks" in text
    assert LATER_ENTRY in text
    # Only the releases crossed: not the one the service was on.
    assert f"### {RELEASES.next_version} " not in text
    assert "## Conflicts\n\nNone." in text
    assert "passed" in text
    assert marker.read_text(encoding="utf-8") == "ran"

    # A week later, main has moved on and the checks fail: the proposal is made
    # again from the new main, replacing the first, and says so.
    (project / "NOTES.md").write_text("Our own notes.\n", encoding="utf-8")
    commit_all(project, "Add notes")
    git(project, "push", "--quiet", "origin", "main")
    moved = git(project, "rev-parse", "HEAD").strip()

    again = propose(project, "--check", FAILING_CHECK, description=description)

    assert again.returncode == 0, again.stdout + again.stderr
    left_as_it_was(project, moved)
    assert git(project, "rev-parse", f"origin/{BRANCH}~1").strip() == moved
    text = description.read_text(encoding="utf-8")
    assert "failed (exit 3)" in text
    assert "3 tests failed" in text


def test_conflicts_are_listed_and_the_checks_wait_for_them(
    released: Path, tmp_path: Path
) -> None:
    project = service(released, tmp_path)
    hooks = project / ".pre-commit-config.yaml"
    hooks.write_text(
        hooks.read_text(encoding="utf-8").replace(
            HOOK_LINE, "        args: [--assume-in-merge, --strict]"
        ),
        encoding="utf-8",
    )
    commit_all(project, "Our own hook arguments")
    git(project, "push", "--quiet", "origin", "main")
    head = git(project, "rev-parse", "HEAD").strip()
    description = tmp_path / "description.md"
    marker = tmp_path / "checked"

    done = propose(project, "--check", passing_check(marker), description=description)

    assert done.returncode == 0, done.stdout + done.stderr
    left_as_it_was(project, head)
    text = description.read_text(encoding="utf-8")
    conflicts = text.partition("## Conflicts")[2].partition("## Checks")[0]
    assert "- `.pre-commit-config.yaml`" in conflicts
    assert "did not run: resolve the conflicts first" in text
    assert not marker.exists()
    proposed = git(project, "show", f"origin/{BRANCH}:.pre-commit-config.yaml")
    assert "<<<<<<< " in proposed
    assert "--strict" in proposed
    assert "--verbose" in proposed


def test_an_update_that_cannot_be_made_changes_and_pushes_nothing(
    released: Path, tmp_path: Path
) -> None:
    project = service(released, tmp_path)
    head = git(project, "rev-parse", "HEAD").strip()

    # Copier itself fails (here: a command that only fails).
    broken = subprocess.run(
        [sys.executable, "tools/template_update.py", "--copier", "false"],
        cwd=project,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert broken.returncode == 1
    assert f"copier update to v{LATER} failed" in broken.stderr
    assert remote_branches(project) == {"main"}
    left_as_it_was(project, head)

    # Work in progress: refused before anything runs, the work kept.
    (project / "draft.py").write_text("x = 1\n", encoding="utf-8")

    dirty = propose(project)

    assert dirty.returncode == 1
    assert "the working tree has changes" in dirty.stderr
    assert (project / "draft.py").read_text(encoding="utf-8") == "x = 1\n"
    assert remote_branches(project) == {"main"}
    assert answers_of(project)["_commit"] == RELEASES.next_tag
