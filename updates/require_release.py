"""Stop an update before it writes anything when Copier cannot tell which releases it
crosses.

Copier runs a `_migrations` step of copier.yml that names a release when the update
crosses that release, and takes the versions from the template's `vX.Y.Z` git tags.
Those steps carry a team's edits over a renamed or removed file. Two updates would
skip them and finish with exit 0, the edits lost:

- to a template without release tags (a clone of main: only main is published).
  Copier sees `0.0.0.post<N>.dev0+<commit>` and crosses no release;
- to a commit after a release that is not one itself (`--vcs-ref HEAD` on main ahead
  of vX.Y.Z, seen as `X.Y.Z.post<N>...`): the steps of the release being prepared
  name a version the target is not yet.

Run first on every update (copier.yml), this step refuses both, saying what to do.
An update to the version the project is at already (`--vcs-ref=:current:`, to change
an answer) crosses nothing and goes ahead. Copier passes the versions in
VERSION_PEP440_FROM and VERSION_PEP440_TO; the template's source, as the team knows
it, is the `_src_path` of the project's answers file. Run from the project root by
Copier's own Python.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

ANSWERS = Path(".copier-answers.yml")

UNTAGGED = """\
Update stopped, nothing changed: the template at {source} has no release tags.
Copier sees its version as {version}, so it cannot tell which releases this
update crosses, and would skip the steps that carry your edits across them. Tag
the releases in the template's clone, then update again:

    make -C {source} tags    # vX.Y.Z from releases.toml (tools/release_tags.py)

If the template comes from a git server, publish the tags there too (`git push
origin --tags` after `make tags`), or ask who maintains it to.
"""

UNRELEASED = """\
Update stopped, nothing changed: it goes to {version}, a commit after release
v{base} that is not a release itself, so the steps that carry your edits into the
next release would not run. Update to a release instead: `copier update` without
--vcs-ref takes the newest one, or pass --vcs-ref vX.Y.Z.
"""


def refusal(version_from: str, version_to: str, source: str) -> str | None:
    """Why the update must not run, or None if it may."""
    try:
        target = Version(version_to)
    except InvalidVersion:
        return None
    if target.release[:3] == (0, 0, 0):
        return UNTAGGED.format(source=source, version=version_to)
    if version_to == version_from:
        return None
    if target.is_postrelease or target.is_devrelease or target.local:
        return UNRELEASED.format(version=version_to, base=target.base_version)
    return None


def main() -> int:
    try:
        answers = yaml.safe_load(ANSWERS.read_text(encoding="utf-8"))
        source = str(answers["_src_path"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        source = "<the template>"
    reason = refusal(
        os.environ.get("VERSION_PEP440_FROM", ""),
        os.environ.get("VERSION_PEP440_TO", ""),
        source,
    )
    if reason is None:
        return 0
    print(reason, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
