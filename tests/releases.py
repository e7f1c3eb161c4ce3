"""The template's releases (releases.toml) and a scratch clone that carries their tags.

Copier takes a template's versions from its git tags. A clean clone of main may have
none, so the update tests and the fleet report work on a clone of this repository
tagged from releases.toml, with the working tree (uncommitted edits included)
committed on top and tagged as the next release.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from helpers import REPO_ROOT, load_tool
from services import git

RELEASES_FILE = REPO_ROOT / "releases.toml"


@dataclass(frozen=True)
class Release:
    version: str
    commit: str
    date: str

    @property
    def tag(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True)
class ReleaseList:
    releases: tuple[Release, ...]
    next_version: str
    oldest_supported: str

    @property
    def latest(self) -> Release:
        return self.releases[-1]

    def get(self, version: str) -> Release:
        return next(r for r in self.releases if r.version == version)

    @property
    def next_tag(self) -> str:
        return f"v{self.next_version}"


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def load_releases(path: Path = RELEASES_FILE) -> ReleaseList:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    releases = tuple(
        Release(str(r["version"]), str(r["commit"]), str(r["date"]))
        for r in raw["release"]
    )
    return ReleaseList(
        releases=tuple(sorted(releases, key=lambda r: version_key(r.version))),
        next_version=str(raw["next"]),
        oldest_supported=str(raw["oldest_supported"]),
    )


def tagged_clone(destination: Path, releases: ReleaseList | None = None) -> Path:
    """Clone this repository into `destination`, tag every release, commit the
    working tree on top and tag it `v<next>`; return `destination`."""
    releases = releases or load_releases()
    git(
        REPO_ROOT.parent,
        "clone",
        "--quiet",
        "--no-hardlinks",
        str(REPO_ROOT),
        str(destination),
    )
    # The working tree as it is, untracked files included, ignored ones left out.
    listed = git(
        REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"
    )
    # (A file deleted but not yet staged is listed as cached: it is not present.)
    present = {
        name for name in listed.split("\0") if name and (REPO_ROOT / name).exists()
    }
    for name in git(destination, "ls-files", "-z").split("\0"):
        if name and name not in present:
            (destination / name).unlink(missing_ok=True)
    for name in present:
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(destination, "add", "--all")
    git(destination, "commit", "--quiet", "--allow-empty", "-m", "working tree")
    # As `make tags` makes them (a clone of this repository may carry them already).
    tags = load_tool("release_tags")
    listed = [tags.Release(r.version, r.commit) for r in releases.releases]
    assert tags.problems(destination, listed) == []
    tags.tag_releases(destination, listed)
    git(destination, "tag", "--force", releases.next_tag, "HEAD")
    return destination
