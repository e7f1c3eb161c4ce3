"""Tag the template's releases in this clone, from releases.toml: `make tags`.

Copier reads a template's versions from its git tags: `copier copy` and `copier update`
take the newest `vX.Y.Z` tag by default, `--vcs-ref vX.Y.Z` names one, and an update
runs the migrations of `copier.yml` by the releases it crosses. Only the branch main
of this repository is published, so a clone has no tags until this command makes them;
releases.toml records each release's commit on main.

For each release, the tag `vX.Y.Z` on its commit: created if missing, left alone if
it is there already. The command writes nothing and exits 1 if a release's commit is
not in this clone (a shallow or outdated clone) or a tag of that name is on another
commit; it says which, and what to do. Run it again at any time: it is idempotent.

    python tools/release_tags.py [--repo DIR] [--releases FILE]

A team that mirrors the template publishes the tags with `git push origin --tags`
after running it (docs/platform-teams.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Release:
    version: str
    commit: str

    @property
    def tag(self) -> str:
        return f"v{self.version}"


def read_releases(path: Path) -> list[Release]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Release(str(r["version"]), str(r["commit"])) for r in raw["release"]]


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )


def _commit_of(repo: Path, ref: str) -> str | None:
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return found.stdout.strip() if found.returncode == 0 else None


def problems(repo: Path, releases: list[Release]) -> list[str]:
    """What stops the tags from being made, one sentence each; empty if nothing."""
    found = []
    for release in releases:
        commit = _commit_of(repo, release.commit)
        if commit is None:
            found.append(
                f"{release.tag}: commit {release.commit[:12]} is not in this clone; "
                "fetch main in full (git fetch --unshallow origin main) and run again"
            )
            continue
        tagged = _commit_of(repo, f"refs/tags/{release.tag}")
        if tagged is not None and tagged != commit:
            found.append(
                f"{release.tag}: the tag is on {tagged[:12]}, releases.toml says "
                f"{commit[:12]}; delete the tag (git tag -d {release.tag}) if "
                "releases.toml is right, or correct releases.toml"
            )
    return found


def tag_releases(repo: Path, releases: list[Release]) -> list[str]:
    """Create the missing tags (after `problems` found none); one line per release."""
    lines = []
    for release in releases:
        if _commit_of(repo, f"refs/tags/{release.tag}") is not None:
            lines.append(f"{release.tag} {release.commit[:12]} already tagged")
            continue
        created = _git(repo, "tag", release.tag, release.commit)
        if created.returncode != 0:
            raise RuntimeError(f"git tag {release.tag}: {created.stderr.strip()}")
        lines.append(f"{release.tag} {release.commit[:12]} tagged")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--releases", type=Path, default=ROOT / "releases.toml")
    options = parser.parse_args(argv)
    releases = read_releases(options.releases)
    found = problems(options.repo, releases)
    if found:
        print("release tags: nothing tagged, because", file=sys.stderr)
        for line in found:
            print(f"  {line}", file=sys.stderr)
        return 1
    for line in tag_releases(options.repo, releases):
        print(f"release tags: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
