"""Move a template-owned file to its new name during `copier update`, keeping edits.

Copier deletes a file that a new template release no longer renders, edits included,
and renders the new name from scratch. Run as a pair of `_migrations` (copier.yml):

    before: python rename.py before OLD NEW   keeps the project's OLD and the OLD the
                                              previous release rendered (the merge base)
    after:  python rename.py after OLD NEW    three-way merges the project's edits into
                                              the freshly rendered NEW

The two files wait in .git/copier-renames/ between the stages. An unchanged OLD needs
nothing kept: the new rendering is the whole answer. Overlapping edits end as conflict
markers in NEW, the way Copier marks its own conflicts, and the command still exits 0
so that the update finishes; pre-commit refuses to commit the markers.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ANSWERS = Path(".copier-answers.yml")
STASH = Path(".git") / "copier-renames"


def _render_previous(old: str) -> bytes | None:
    """OLD as the release the project was last updated to rendered it, if it did."""
    import copier  # the Python running this script is Copier's own

    answers = yaml.safe_load(ANSWERS.read_text(encoding="utf-8"))
    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    with tempfile.TemporaryDirectory() as scratch:
        copier.run_copy(
            answers["_src_path"],
            scratch,
            data=data,
            vcs_ref=answers["_commit"],
            defaults=True,
            unsafe=True,
            quiet=True,
            skip_tasks=True,
        )
        rendered = Path(scratch, old)
        return rendered.read_bytes() if rendered.is_file() else None


def stash_edits(old: str, new: str) -> bool | None:
    """Keep the project's `old` for `after` if it differs from the previous release's.

    True: stashed under the name `new`; False: `old` has no local edits; None: there
    is no `old`, or `new` exists already (nothing to carry over).
    """
    project = Path(old)
    if not project.is_file() or Path(new).exists():
        return None
    base = _render_previous(old)
    ours = project.read_bytes()
    if base == ours:
        return False
    stash = STASH / new
    stash.parent.mkdir(parents=True, exist_ok=True)
    stash.with_name(stash.name + ".base").write_bytes(base or b"")
    stash.with_name(stash.name + ".ours").write_bytes(ours)
    return True


def before(old: str, new: str) -> None:
    if stash_edits(old, new) is False:
        print(f"rename: {old} -> {new} (no local edits to carry over)")


def after(old: str, new: str) -> None:
    stash = STASH / new
    base = stash.with_name(stash.name + ".base")
    ours = stash.with_name(stash.name + ".ours")
    if not ours.is_file():
        return
    target = Path(new)
    if target.is_file():
        merge = subprocess.run(
            [
                "git",
                "merge-file",
                "-L",
                "after updating",
                "-L",
                "last update",
                "-L",
                "before updating",
                str(target),
                str(base),
                str(ours),
            ],
            check=False,
        )
        outcome = "with conflicts to resolve" if merge.returncode else "edits kept"
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ours, target)
        outcome = "edits kept; the template no longer renders it"
    print(f"rename: {old} -> {new} ({outcome})")
    base.unlink(missing_ok=True)
    ours.unlink()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in {"before", "after"}:
        print("usage: rename.py before|after OLD NEW", file=sys.stderr)
        return 2
    stage, old, new = argv
    (before if stage == "before" else after)(old, new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
