"""Generated services as git repositories, driven the way a user drives them: the
Copier CLI, commits, and a look for what an update may leave behind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from helpers import rendered_files

ANSWERS = ".copier-answers.yml"
COPIER = str(Path(sys.executable).with_name("copier"))

# Commits made by the tests (and by the tools they run) must not depend on the
# machine's git configuration.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Service Team",
    "GIT_AUTHOR_EMAIL": "team@example.com",
    "GIT_COMMITTER_NAME": "Service Team",
    "GIT_COMMITTER_EMAIL": "team@example.com",
}


def tool_env() -> dict[str, str]:
    """This run's environment for git and Copier, without pytest's own variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return {**env, **GIT_ENV}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=tool_env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def copier(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COPIER, *args],
        cwd=cwd,
        env=tool_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "-m", message)


def generate(
    template: Path, tag: str, project: Path, answers: Mapping[str, Any]
) -> Path:
    """Copy the template at `tag` into `project`, a new git repository, committed."""
    data = [f"--data={key}={value}" for key, value in answers.items()]
    done = copier(
        "copy", "--trust", "--defaults", "--vcs-ref", tag, *data, str(template), str(project)
    )  # fmt: skip
    assert done.returncode == 0, f"copy from {tag} failed:\n{done.stderr}"
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, f"Generate from the template at {tag}")
    return project


def answers_of(project: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((project / ANSWERS).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def leftovers(project: Path) -> list[str]:
    """.rej files and files holding conflict markers, relative to the project."""
    found = []
    for path in rendered_files(project):
        rel = str(path.relative_to(project))
        if rel.endswith(".rej"):
            found.append(rel)
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in text.splitlines()):
            found.append(rel)
    return found
