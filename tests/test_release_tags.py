"""`make tags` (tools/release_tags.py) tags the releases of releases.toml, once, and
refuses, writing nothing, what it cannot tag as releases.toml says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT
from releases import load_releases
from services import git

TOOL = REPO_ROOT / "tools" / "release_tags.py"
RELEASES = load_releases()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of this repository's main without tags, as CI and new users get it."""
    destination = tmp_path / "backend-architect"
    git(tmp_path, "clone", "--quiet", "--no-tags", str(REPO_ROOT), str(destination))
    return destination


def release_tags(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), "--repo", str(clone), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def tags_of(clone: Path) -> dict[str, str]:
    listed = git(
        clone, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/tags"
    )
    pairs = (line.split(" ", 1) for line in listed.splitlines())
    return {name: commit for name, commit in pairs}


def test_tags_every_release_on_its_commit_and_again_changes_nothing(
    clone: Path,
) -> None:
    assert tags_of(clone) == {}

    first = release_tags(clone)

    assert first.returncode == 0, first.stderr
    expected = {r.tag: r.commit for r in RELEASES.releases}
    assert tags_of(clone) == expected
    again = release_tags(clone)
    assert again.returncode == 0, again.stderr
    assert tags_of(clone) == expected
    assert again.stdout.count("already tagged") == len(expected)
    # Copier now names the commit after the newest release.
    described = git(clone, "describe", "--tags", "--always", RELEASES.latest.commit)
    assert described.strip() == RELEASES.latest.tag


def test_a_tag_on_another_commit_is_refused_and_nothing_is_tagged(
    clone: Path,
) -> None:
    oldest, newest = RELEASES.releases[0], RELEASES.releases[-1]
    git(clone, "tag", newest.tag, oldest.commit)

    refused = release_tags(clone)

    assert refused.returncode == 1
    assert f"{newest.tag}: the tag is on {oldest.commit[:12]}" in refused.stderr
    assert tags_of(clone) == {newest.tag: oldest.commit}


def test_a_release_whose_commit_is_missing_is_refused_and_nothing_is_tagged(
    clone: Path, tmp_path: Path
) -> None:
    missing = "0" * 40
    releases = tmp_path / "releases.toml"
    text = (REPO_ROOT / "releases.toml").read_text(encoding="utf-8")
    releases.write_text(text.replace(RELEASES.latest.commit, missing), encoding="utf-8")

    refused = release_tags(clone, "--releases", str(releases))

    assert refused.returncode == 1
    assert f"{RELEASES.latest.tag}: commit {missing[:12]} is not in this clone" in (
        refused.stderr
    )
    assert tags_of(clone) == {}
