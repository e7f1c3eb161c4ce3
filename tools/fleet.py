"""Where a fleet of services generated from this template stands, and rolling updates.

A platform team that runs many services from one Copier template needs two answers
before an update: which template release is each service on, and which of them
will not take an update cleanly (uncommitted work, conflicts left by the last one,
answers that drifted from the team's standard). `report` gives both for any number
of local checkouts; `update` then moves each one to a new release on a branch of its
own, so that every service's update is reviewed and merged like any other change.
With `--push`, each updated branch goes to the checkout's remote (`origin`, or the
one `--remote` names) and the row gives the link that opens its pull request (GitHub) or merge
request (GitLab), when the remote's host is one of those.

    fleet.py report [--template SRC] [--standard FILE] [--json] CHECKOUT...
    fleet.py update [--template SRC] [--vcs-ref REF] [--standard FILE]
                    [--branch-prefix template-update/] [--push [--remote NAME]]
                    [--json] CHECKOUT...

Everything is read from the checkout's `.copier-answers.yml` (`_src_path`, `_commit`
and the answers) and from git: the template's release tags come from
`git ls-remote --tags SRC`, which works for local paths and remote URLs alike, so no
clone of the template is needed for a report. Releases are tags named `vX.Y.Z`.

`report --json` prints a list with one object per checkout, always with these keys:

    path          the checkout as given on the command line
    ok            false when the checkout could not be read (see error)
    error         why it could not be read (no answers file, unreadable YAML), or null
    warnings      problems that leave the row usable (template unreachable, ...)
    template      the template source used: --template, else `_src_path`
    commit        `_commit` as Copier recorded it ("v0.3.0", "v0.3.0-4-gabc1234"), or null
    version       the template version: "v0.3.0", or "v0.3.0+4 commits" for a commit
                  after that tag, or the bare commit when no tag precedes it
    base_release  the release tag the version is or descends from, or null
    latest        the highest release tag of the template, or null if unknown
    behind        how many releases are newer than base_release, or null if unknown
    answers       the answers, without Copier's own `_` keys
    drift         with --standard: a list of {key, answer, standard} for every
                  standard key whose answer differs (answer null when the service
                  has none); without --standard: null
    dirty         uncommitted changes or untracked files (null if not a git checkout)
    conflicts     files with unresolved update conflicts: `.rej` files, files with
                  `<<<<<<< ` conflict markers, paths git lists as unmerged
    state         "conflicts", "dirty", "clean", "unknown" (not a git checkout) or
                  "error" (see error)

`update --json` prints a list with one object per checkout, always with these keys:

    path          the checkout as given
    outcome       "updated", "conflicts", "up-to-date", "no-changes", "refused" or
                  "failed"
    from_version  the version before the update, or null
    to_version    the version the answers file records afterwards (or the target)
    branch        the branch made for the update, or null
    commit        the commit made on it, or null
    pushed        with --push: the remote the branch was pushed to, else null
    link          with --push: the page that opens the pull (merge) request for the
                  pushed branch, or null when the remote is not on GitHub or GitLab
    conflicts     the conflicted files (outcome "conflicts")
    data          the `-d key=value` answers passed to Copier from --standard
    message       what happened, in a sentence

Exit status: `report` 0 when every checkout was read, else 1; `update` 1 when any
checkout was refused, failed, was left with conflicts or (with --push) could not be
pushed, else 0. A branch left with conflicts is not pushed: it is resolved and
committed first, by a person.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlencode

import yaml

ANSWERS_FILE = ".copier-answers.yml"
DEFAULT_BRANCH_PREFIX = "template-update/"
RELEASE_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
# What `git describe --tags --always` prints for a commit after a tag.
DESCRIBE = re.compile(r"^(?P<tag>.+)-(?P<count>\d+)-g(?P<sha>[0-9a-f]{4,40})$")
BARE_COMMIT = re.compile(r"^[0-9a-f]{4,40}$")
# A line that starts one of git's (and Copier's inline) conflict blocks.
CONFLICT_MARKER = "^<<<<<<< "
GIT_TIMEOUT_S = 120
# A copier update renders the template twice and may run migrations.
COPIER_TIMEOUT_S = 1800


class FleetError(Exception):
    """A problem with one checkout or template, reported in its row, never a crash."""


# --- running git and copier ------------------------------------------------------


def _env() -> dict[str, str]:
    # Never wait for a password prompt: a fleet run is unattended, and a template URL
    # that needs credentials the machine lacks must fail, not hang.
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0"}


def run(
    cmd: Sequence[str], cwd: Path | None = None, timeout: float = GIT_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Run a command and capture its output; a missing program or a timeout is a
    FleetError, a non-zero exit is left to the caller."""
    try:
        return subprocess.run(
            list(cmd),
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise FleetError(f"{cmd[0]} is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise FleetError(f"`{' '.join(cmd)}` took more than {timeout:.0f} s") from exc


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def git(cwd: Path, *args: str) -> str:
    """stdout of a git command that must succeed in `cwd`."""
    result = run(["git", *args], cwd=cwd)
    if result.returncode != 0:
        detail = last_line(result.stderr) or f"exit {result.returncode}"
        raise FleetError(f"git {' '.join(args)}: {detail}")
    return result.stdout


@cache
def copier_command() -> tuple[str, ...]:
    """The copier of the Python that runs this script, so that the pinned Copier (and
    copier-template-extensions beside it) does the update, not whichever is on PATH."""
    if importlib.util.find_spec("copier") is not None:
        return (sys.executable, "-m", "copier")
    beside = Path(sys.executable).with_name("copier")
    if beside.is_file() and os.access(beside, os.X_OK):
        return (str(beside),)
    raise FleetError(
        f"copier is not installed for {sys.executable}: run this script with the "
        "Python of the environment that has copier (the template's .venv/bin/python)"
    )


# --- versions ---------------------------------------------------------------------


def release_key(tag: str) -> tuple[int, int, int] | None:
    """(X, Y, Z) of a `vX.Y.Z` tag, None for any other name."""
    match = RELEASE_TAG.match(tag)
    if match is None:
        return None
    return (int(match[1]), int(match[2]), int(match[3]))


@dataclass(frozen=True)
class Version:
    """A service's template version, from the `_commit` Copier recorded."""

    commit: str
    base_tag: str | None
    commits_after: int

    @property
    def label(self) -> str:
        if self.base_tag is None:
            return self.commit
        if self.commits_after == 0:
            return self.base_tag
        plural = "commit" if self.commits_after == 1 else "commits"
        return f"{self.base_tag}+{self.commits_after} {plural}"

    @property
    def base_release(self) -> str | None:
        """The base tag if it is a release (vX.Y.Z); releases behind count from it."""
        if self.base_tag is not None and release_key(self.base_tag) is not None:
            return self.base_tag
        return None

    @property
    def is_release(self) -> bool:
        return self.commits_after == 0 and self.base_release is not None


def parse_commit(commit: str) -> Version:
    """Read `_commit`: a tag ("v0.3.0"), a describe string for a commit after a tag
    ("v0.3.0-4-gabc1234": 4 commits after v0.3.0) or a bare commit with no tag before it.
    """
    match = DESCRIBE.match(commit)
    if match is not None:
        return Version(commit, match["tag"], int(match["count"]))
    if BARE_COMMIT.match(commit) and release_key(commit) is None:
        return Version(commit, None, 0)
    return Version(commit, commit, 0)


def git_url(source: str) -> str:
    """The git URL of a Copier template source: Copier's `gh:`/`gl:` shorthands and
    `git+` prefix expanded, `~` in local paths expanded."""
    if source.startswith("gh:"):
        return "https://github.com/" + source[3:]
    if source.startswith("gl:"):
        return "https://gitlab.com/" + source[3:]
    if source.startswith("git+"):
        return source[4:]
    if source.startswith("~"):
        return str(Path(source).expanduser())
    return source


@cache
def release_tags(source: str) -> tuple[str, ...]:
    """The template's release tags, oldest first. `git ls-remote` reads a local
    repository and a remote one the same way, without cloning; asked once per source."""
    result = run(["git", "ls-remote", "--tags", git_url(source)])
    if result.returncode != 0:
        detail = last_line(result.stderr) or f"exit {result.returncode}"
        raise FleetError(f"cannot list the tags of template {source}: {detail}")
    tags: set[str] = set()
    for line in result.stdout.splitlines():
        _, _, ref = line.partition("\t")
        name = ref.removeprefix("refs/tags/").removesuffix("^{}")
        if release_key(name) is not None:
            tags.add(name)
    return tuple(sorted(tags, key=lambda tag: release_key(tag) or (0, 0, 0)))


def releases_after(tag: str, tags: Iterable[str]) -> int:
    """How many of `tags` are newer releases than the release `tag`."""
    key = release_key(tag) or (0, 0, 0)
    return sum(1 for other in tags if (release_key(other) or (0, 0, 0)) > key)


# --- answers and standards ------------------------------------------------------------


def load_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetError(f"cannot read {what} {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise FleetError(f"{what} {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FleetError(f"{what} {path} is not a mapping of key: value")
    return {str(key): value for key, value in data.items()}


def load_standard(path: Path) -> dict[str, Any]:
    """The platform team's standard answers (a Copier --data-file). Copier's own `_`
    keys are not answers, so a standard cannot set them."""
    standard = load_yaml_mapping(path, "standard answers file")
    reserved = sorted(key for key in standard if key.startswith("_"))
    if reserved:
        raise FleetError(
            f"standard answers file {path} sets Copier's own keys: {', '.join(reserved)}"
        )
    return standard


def same_answer(answer: Any, standard: Any) -> bool:
    """Equal, or equal once written as text: a standard file may spell `3.12` where
    the answer is the string "3.12" (booleans are not loosened: `true` is not "True").
    """
    if answer == standard:
        return True
    scalars = (int, float, str)
    if isinstance(answer, bool) or isinstance(standard, bool):
        return False
    if isinstance(answer, scalars) and isinstance(standard, scalars):
        return str(answer) == str(standard)
    return False


@dataclass(frozen=True)
class Drift:
    key: str
    answer: Any
    standard: Any


def drift(answers: Mapping[str, Any], standard: Mapping[str, Any]) -> list[Drift]:
    """Every standard key whose answer differs, a missing answer included: a service
    generated before a question existed has not made the standard choice either."""
    return [
        Drift(key, answers.get(key), value)
        for key, value in standard.items()
        if key not in answers or not same_answer(answers[key], value)
    ]


def as_data_value(value: Any) -> str:
    """A value as Copier's `-d key=value` reads it: booleans as true/false, lists and
    mappings as YAML flow (JSON), for questions of type bool and yaml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if value is None:
        return "null"
    return str(value)


# --- reading a checkout ------------------------------------------------------------------


@dataclass
class Checkout:
    """What the answers file and git say about one checkout."""

    path: Path
    metadata: dict[str, Any]
    answers: dict[str, Any]

    @property
    def recorded_source(self) -> str | None:
        source = self.metadata.get("_src_path")
        return str(source) if source else None

    @property
    def version(self) -> Version | None:
        commit = self.metadata.get("_commit")
        return parse_commit(str(commit)) if commit else None


def read_checkout(path: Path) -> Checkout:
    if not path.is_dir():
        raise FleetError(f"{path} is not a directory")
    answers_file = path / ANSWERS_FILE
    if not answers_file.is_file():
        raise FleetError(f"no {ANSWERS_FILE}: not a service generated by Copier")
    data = load_yaml_mapping(answers_file, "answers file")
    metadata = {k: v for k, v in data.items() if k.startswith("_")}
    answers = {k: v for k, v in data.items() if not k.startswith("_")}
    return Checkout(path, metadata, answers)


def is_git_checkout(path: Path) -> bool:
    result = run(["git", "rev-parse", "--show-toplevel"], cwd=path)
    return result.returncode == 0


def dirty_files(path: Path) -> list[str]:
    """Uncommitted changes and untracked files (ignored files do not count), as
    `git status --porcelain` lists them."""
    output = git(path, "status", "--porcelain", "--untracked-files=all")
    return [line[3:] for line in output.splitlines() if line.strip()]


def conflicted_files(path: Path) -> list[str]:
    """Files a copier update left unresolved: `.rej` files (the `--conflict rej` mode),
    files with a conflict marker line (the inline mode, and a committed mistake), and
    paths git itself lists as unmerged."""
    found: set[str] = set()
    listed = git(path, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    found.update(name for name in listed.split("\0") if name.endswith(".rej"))
    # -I: binary files may contain the bytes by chance; --untracked: an update's new
    # files are not tracked yet.
    grep = run(
        ["git", "grep", "-l", "-I", "--untracked", "-E", CONFLICT_MARKER], cwd=path
    )
    if grep.returncode not in (0, 1):
        raise FleetError(f"git grep: {last_line(grep.stderr)}")
    found.update(line for line in grep.stdout.splitlines() if line)
    unmerged = git(path, "diff", "--name-only", "--diff-filter=U")
    found.update(line for line in unmerged.splitlines() if line)
    return sorted(found)


# --- report ----------------------------------------------------------------------------


@dataclass
class ReportRow:
    path: str
    ok: bool = True
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    template: str | None = None
    commit: str | None = None
    version: str | None = None
    base_release: str | None = None
    latest: str | None = None
    behind: int | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    drift: list[Drift] | None = None
    dirty: bool | None = None
    conflicts: list[str] = field(default_factory=list)
    state: str = "unknown"

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "error": self.error,
            "warnings": self.warnings,
            "template": self.template,
            "commit": self.commit,
            "version": self.version,
            "base_release": self.base_release,
            "latest": self.latest,
            "behind": self.behind,
            "answers": self.answers,
            "drift": (
                None
                if self.drift is None
                else [
                    {"key": d.key, "answer": d.answer, "standard": d.standard}
                    for d in self.drift
                ]
            ),
            "dirty": self.dirty,
            "conflicts": self.conflicts,
            "state": self.state,
        }


def report_one(
    given: str, template: str | None, standard: Mapping[str, Any] | None
) -> ReportRow:
    row = ReportRow(path=given)
    try:
        checkout = read_checkout(Path(given))
    except FleetError as exc:
        row.ok, row.error, row.state = False, str(exc), "error"
        return row
    row.answers = checkout.answers
    row.template = template or checkout.recorded_source
    if standard is not None:
        row.drift = drift(checkout.answers, standard)

    version = checkout.version
    if version is None:
        row.warnings.append(f"{ANSWERS_FILE} records no _commit: version unknown")
    else:
        row.commit, row.version = version.commit, version.label
        row.base_release = version.base_release
        if version.base_release is None:
            row.warnings.append(
                f"_commit {version.commit} is not a release (vX.Y.Z) or after one"
            )

    if row.template is None:
        row.warnings.append(f"{ANSWERS_FILE} records no _src_path: pass --template")
    else:
        try:
            tags = release_tags(row.template)
        except FleetError as exc:
            row.warnings.append(str(exc))
        else:
            if not tags:
                row.warnings.append(f"template {row.template} has no vX.Y.Z tags")
            else:
                row.latest = tags[-1]
                if row.base_release is not None:
                    row.behind = releases_after(row.base_release, tags)

    if not is_git_checkout(checkout.path):
        row.warnings.append("not a git checkout: dirty and conflict state unknown")
        return row
    try:
        row.dirty = bool(dirty_files(checkout.path))
        row.conflicts = conflicted_files(checkout.path)
    except FleetError as exc:
        row.warnings.append(str(exc))
        return row
    row.state = "conflicts" if row.conflicts else "dirty" if row.dirty else "clean"
    return row


def drift_summary(row: ReportRow) -> str:
    if row.drift is None:
        return "-"
    if not row.drift:
        return "none"
    return "; ".join(
        f"{d.key}={'(unset)' if d.key not in row.answers else as_data_value(d.answer)}"
        f" (standard {as_data_value(d.standard)})"
        for d in row.drift
    )


def report_table(rows: Sequence[ReportRow]) -> str:
    lines = [["CHECKOUT", "VERSION", "LATEST", "BEHIND", "DRIFT", "STATE"]]
    notes: list[str] = []
    for row in rows:
        if not row.ok:
            lines.append([row.path, "-", "-", "-", "-", f"error: {row.error}"])
            continue
        state = row.state
        if row.conflicts:
            state = f"conflicts ({len(row.conflicts)}: {', '.join(row.conflicts)})"
        lines.append(
            [
                row.path,
                row.version or "?",
                row.latest or "?",
                "?" if row.behind is None else str(row.behind),
                drift_summary(row),
                state,
            ]
        )
        notes.extend(f"{row.path}: {warning}" for warning in row.warnings)
    text = align(lines)
    if notes:
        text += "\n\n" + "\n".join(notes)
    return text


def align(lines: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the last column is not padded."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(
            cell if i == len(line) - 1 else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        )
        for line in lines
    )


# --- update ------------------------------------------------------------------------------


@dataclass
class UpdateRow:
    path: str
    outcome: str = "failed"
    from_version: str | None = None
    to_version: str | None = None
    branch: str | None = None
    commit: str | None = None
    conflicts: list[str] = field(default_factory=list)
    data: dict[str, str] = field(default_factory=dict)
    message: str = ""
    pushed: str | None = None
    link: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "outcome": self.outcome,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "branch": self.branch,
            "commit": self.commit,
            "pushed": self.pushed,
            "link": self.link,
            "conflicts": self.conflicts,
            "data": self.data,
            "message": self.message,
        }


FAILED_OUTCOMES = {"refused", "failed", "conflicts"}


@dataclass(frozen=True)
class UpdateOptions:
    template: str | None
    vcs_ref: str | None
    standard: Mapping[str, Any] | None
    branch_prefix: str
    # The remote to push each updated branch to, or None to push nothing.
    push: str | None = None


def update_one(given: str, options: UpdateOptions) -> UpdateRow:
    row = UpdateRow(path=given)
    try:
        _update(Path(given), options, row)
    except FleetError as exc:
        if row.outcome != "refused":
            row.outcome = "failed"
        row.message = str(exc)
    return row


def _refuse(row: UpdateRow, why: str) -> NoReturn:
    row.outcome = "refused"
    raise FleetError(why)


def _update(path: Path, options: UpdateOptions, row: UpdateRow) -> None:
    checkout = read_checkout(path)
    version = checkout.version
    row.from_version = version.label if version else None
    if not is_git_checkout(path):
        _refuse(
            row, "not a git checkout: copier update needs the service's git history"
        )
    # Copier refuses a dirty destination too; saying so before a branch exists keeps
    # the checkout exactly as it was.
    dirty = dirty_files(path)
    if dirty:
        shown = ", ".join(dirty[:5]) + (", ..." if len(dirty) > 5 else "")
        _refuse(row, f"uncommitted changes ({shown}): commit or stash them first")
    leftover = conflicted_files(path)
    if leftover:
        _refuse(
            row, f"unresolved conflicts from an earlier update: {', '.join(leftover)}"
        )

    source = options.template or checkout.recorded_source
    if source is None:
        _refuse(row, f"{ANSWERS_FILE} records no _src_path: pass --template")
    target = update_target(source, options.vcs_ref)
    row.to_version = target
    if options.standard is not None:
        row.data = {
            d.key: as_data_value(d.standard)
            for d in drift(checkout.answers, options.standard)
        }
    moves_source = source != checkout.recorded_source
    if (
        version is not None
        and version.is_release
        and version.base_tag == target
        and not row.data
        and not moves_source
    ):
        row.outcome, row.message = "up-to-date", f"already on {target}"
        return

    branch = options.branch_prefix + target
    if run(["git", "check-ref-format", "--branch", branch], cwd=path).returncode:
        _refuse(row, f"{branch!r} is not a valid branch name: change --branch-prefix")
    if (
        run(
            ["git", "show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=path
        ).returncode
        == 0
    ):
        _refuse(row, f"branch {branch} already exists: merge or delete it first")
    start = current_branch(path)
    git(path, "switch", "--quiet", "--create", branch)
    row.branch = branch

    if moves_source:
        # copier update has no option for another source; it reads `_src_path`, and
        # refuses a dirty tree, so the new source is committed first on the branch.
        set_source(path / ANSWERS_FILE, source)
        git(path, "add", ANSWERS_FILE)
        commit(path, f"Take template updates from {source}")

    command = [
        *copier_command(),
        "update",
        "--trust",
        "--defaults",
        "--skip-answered",
        "--conflict",
        "inline",
    ]
    if options.vcs_ref:
        command += ["--vcs-ref", options.vcs_ref]
    for key, value in row.data.items():
        command += ["-d", f"{key}={value}"]
    result = run(command, cwd=path, timeout=COPIER_TIMEOUT_S)
    if result.returncode != 0:
        detail = last_line(result.stderr) or last_line(result.stdout)
        if not dirty_files(path):
            # Nothing was written: put the checkout back as it was.
            go_back(path, start, branch)
            row.branch = None
            raise FleetError(f"copier update failed, nothing changed: {detail}")
        raise FleetError(
            f"copier update failed (exit {result.returncode}), its changes are left "
            f"uncommitted on {branch}: {detail}"
        )

    after = read_checkout(path).version
    row.to_version = after.label if after else target
    row.conflicts = conflicted_files(path)
    if row.conflicts:
        row.outcome = "conflicts"
        row.message = (
            f"resolve {len(row.conflicts)} file(s) on {branch}, then commit "
            "(docs/platform-teams.md)"
        )
        return
    if not dirty_files(path):
        if moves_source:
            row.commit = git(path, "rev-parse", "HEAD").strip()
            row.outcome, row.message = "updated", "only the template source changed"
            return
        go_back(path, start, branch)
        row.branch = None
        row.outcome, row.message = "no-changes", "the update changed no file"
        return
    git(path, "add", "--all")
    commit(path, f"Update template to {row.to_version}")
    row.commit = git(path, "rev-parse", "HEAD").strip()
    row.outcome = "updated"
    row.message = f"review and merge {branch}"
    if options.push is not None:
        push(path, options.push, start, row)


def push(path: Path, remote: str, start: Sequence[str], row: UpdateRow) -> None:
    """Push the row's branch to `remote` and name the page that proposes it."""
    assert row.branch is not None
    pushed = run(["git", "push", "--quiet", remote, row.branch], cwd=path)
    if pushed.returncode != 0:
        row.outcome = "failed"
        raise FleetError(
            f"committed on {row.branch}, but the push to {remote} failed: "
            + (last_line(pushed.stderr) or f"exit {pushed.returncode}")
        )
    row.pushed = remote
    url = run(["git", "remote", "get-url", remote], cwd=path).stdout.strip()
    base = start[0] if start and start[0] != "--detach" else None
    row.link = proposal_link(url, row.branch, base)
    row.message = f"review and merge {row.branch}" + (
        f": {row.link}" if row.link else f" (pushed to {remote})"
    )


# git@host:owner/repo.git, ssh://git@host/owner/repo.git, https://host/owner/repo.git
REMOTE_URL = re.compile(
    r"^(?:[a-z+]+://)?(?:[^@/]+@)?(?P<host>[^:/]+)(?::\d+)?[:/](?P<path>.+?)(?:\.git)?/?$"
)


def proposal_link(url: str, branch: str, base: str | None) -> str | None:
    """The page that opens a pull request (GitHub) or merge request (GitLab) of
    `branch` into `base` (the default branch when None), for a remote on either."""
    match = REMOTE_URL.match(url)
    if match is None:
        return None
    host, project = match.group("host"), match.group("path")
    if "github" in host:
        into = f"{base}..." if base else ""
        return f"https://{host}/{project}/compare/{into}{branch}?expand=1"
    if "gitlab" in host:
        query = {"merge_request[source_branch]": branch}
        if base:
            query["merge_request[target_branch]"] = base
        return f"https://{host}/{project}/-/merge_requests/new?{urlencode(query)}"
    return None


def current_branch(path: Path) -> list[str]:
    """How to switch back to where the checkout was: its branch, or its commit when
    HEAD is detached."""
    result = run(["git", "symbolic-ref", "--quiet", "--short", "HEAD"], cwd=path)
    if result.returncode == 0:
        return [result.stdout.strip()]
    return ["--detach", git(path, "rev-parse", "HEAD").strip()]


def go_back(path: Path, start: Sequence[str], branch: str) -> None:
    """Leave the checkout where it was and drop the update's branch (with at most the
    commit of the new template source, which the next run makes again)."""
    git(path, "switch", "--quiet", *start)
    git(path, "branch", "--quiet", "-D", branch)


def update_target(source: str, vcs_ref: str | None) -> str:
    """The version the update goes to, named before Copier runs (it names the branch):
    --vcs-ref as given, else the newest release, which Copier also picks by default."""
    if vcs_ref:
        return vcs_ref
    tags = release_tags(source)
    if not tags:
        raise FleetError(f"template {source} has no vX.Y.Z tags: pass --vcs-ref")
    return tags[-1]


def set_source(answers_file: Path, source: str) -> None:
    """Replace the `_src_path` line, keeping the rest of the file as Copier wrote it."""
    text = answers_file.read_text(encoding="utf-8")
    line = yaml.safe_dump({"_src_path": source}, width=10_000).rstrip("\n")
    new, count = re.subn(r"(?m)^_src_path:.*$", lambda _: line, text)
    if count != 1:
        raise FleetError(f"{answers_file} has no single _src_path line to change")
    answers_file.write_text(new, encoding="utf-8")


def commit(path: Path, message: str) -> None:
    # --no-verify: the service's pre-commit hooks run its linters through `uv run`,
    # which an unattended rollout may not have installed; the branch's CI runs the
    # same gates, and the conflict checks the hooks make were made above.
    git(path, "commit", "--quiet", "--no-verify", "--message", message)


def update_table(rows: Sequence[UpdateRow]) -> str:
    lines = [["CHECKOUT", "FROM", "TO", "BRANCH", "OUTCOME", "DETAIL"]]
    for row in rows:
        detail = row.message
        if row.conflicts:
            detail += ": " + ", ".join(row.conflicts)
        lines.append(
            [
                row.path,
                row.from_version or "?",
                row.to_version or "?",
                row.branch or "-",
                row.outcome,
                detail,
            ]
        )
    return align(lines)


# --- command line ----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="fleet.py",
        description="Report on, and update, services generated from a Copier template.",
    )
    commands = top.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--template",
            metavar="SRC",
            help="template source (path or git URL) instead of each checkout's _src_path",
        )
        sub.add_argument(
            "--standard",
            metavar="FILE",
            type=Path,
            help="YAML mapping of the standard answers (a copier --data-file)",
        )
        sub.add_argument("--json", action="store_true", help="print JSON, not a table")
        sub.add_argument("checkouts", metavar="CHECKOUT", nargs="+")

    report = commands.add_parser(
        "report",
        help="template version, newest release, drift and state of each checkout",
    )
    common(report)
    update = commands.add_parser(
        "update", help="update each checkout on a new branch and commit the result"
    )
    common(update)
    update.add_argument(
        "--vcs-ref",
        metavar="REF",
        help="template tag or commit (default: newest release)",
    )
    update.add_argument(
        "--branch-prefix",
        default=DEFAULT_BRANCH_PREFIX,
        help=f"prefix of the branch made per checkout (default: {DEFAULT_BRANCH_PREFIX})",
    )
    update.add_argument(
        "--push",
        action="store_true",
        help="push each updated branch and print the link that opens its pull or "
        "merge request",
    )
    update.add_argument(
        "--remote",
        default="origin",
        help="the remote --push pushes to (default: origin)",
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        standard = load_standard(args.standard) if args.standard else None
        if args.command == "update":
            copier_command()
    except FleetError as exc:
        print(f"fleet.py: {exc}", file=sys.stderr)
        return 2

    if args.command == "report":
        rows = [report_one(c, args.template, standard) for c in args.checkouts]
        if args.json:
            print(json.dumps([row.as_json() for row in rows], indent=2, default=str))
        else:
            print(report_table(rows))
        return 0 if all(row.ok for row in rows) else 1

    options = UpdateOptions(
        args.template,
        args.vcs_ref,
        standard,
        args.branch_prefix,
        args.remote if args.push else None,
    )
    results: list[UpdateRow] = []
    for checkout in args.checkouts:
        if not args.json:
            print(f"updating {checkout} ...", file=sys.stderr, flush=True)
        results.append(update_one(checkout, options))
    if args.json:
        print(json.dumps([row.as_json() for row in results], indent=2, default=str))
    else:
        print(update_table(results))
    return 1 if any(row.outcome in FAILED_OUTCOMES for row in results) else 0


if __name__ == "__main__":
    sys.exit(main())
