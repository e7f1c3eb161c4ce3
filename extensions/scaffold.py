"""What the destination already holds, for the scaffold-once rules of `copier.yml`.

Sample domain code, its tests and the first migrations belong to the service once they
are written: an update or a recopy must neither overwrite them nor bring back the ones
a team deleted. Copier's `_exclude` can say that, but only if it knows which domains
the project was generated with. This hook reads that from the destination's answers
file and adds to the context:

- `scaffolded_domains`: the domains of the previous copy or update (empty for a new
  project, and in the throwaway copies Copier renders while it updates);
- `added_domains`: the domains this run adds to an existing project;
- `migration_heads`: the heads of the project's Alembic history, which the migration
  of an added domain continues from;
- `sample_events`: whether the sample code has the event flow between the first two
  domains (the second's handler of the first's deletions), which the template-owned
  wiring and tests refer to. A project that turns a broker on keeps its sample code
  as it was, without the flow, unless both domains are added by the same run.

These are facts about the whole project. extensions/context.py, whose hook runs after
this one, says what they mean for the service being rendered (`service.added_domains`,
`service.sample_events`): in a microservices system, a domain added later is a
service of its own, and only the second domain's service reacts.

The destination changes while Copier renders into it (the answers file is rewritten),
so a project is read once per git commit of it and remembered. (Copier refuses to
update a project with uncommitted changes, so a new commit comes before each run.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from copier_template_extensions import ContextHook

_REVISION = re.compile(
    r"^revision(?:\s*:\s*str)?\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE
)
# A string, None, or a tuple that may span lines (a merge point).
_DOWN_REVISION = re.compile(
    r"^down_revision\s*(?::[^=]+)?=\s*(\([^)]*\)|.*)$", re.MULTILINE
)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")

# copier.yml's `_answers_file`. Reading `_copier_conf.answers_file` here instead would
# render it, which runs this hook again before the value exists.
ANSWERS_FILE = ".copier-answers.yml"

_seen: dict[tuple[str, str], dict[str, Any]] = {}


def _git_head(destination: Path) -> str:
    """The commit the destination's HEAD names, read from .git without running git."""
    git = destination / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head
        ref = head.removeprefix("ref: ")
        loose = git / ref
        if loose.is_file():
            return loose.read_text(encoding="utf-8").strip()
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    except OSError:
        pass
    return ""


def migration_heads(versions: Path) -> list[str]:
    """Revisions of `versions/*.py` that no other revision follows, sorted."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for script in sorted(versions.glob("*.py")):
        text = script.read_text(encoding="utf-8")
        if not (revision := _REVISION.search(text)):
            continue
        revisions.add(revision[1])
        if down := _DOWN_REVISION.search(text):
            followed.update(_QUOTED.findall(down[1]))
    return sorted(revisions - followed)


def previous_render(destination: Path) -> dict[str, Any]:
    """Domains and migration heads of the project already at `destination`."""
    key = (str(destination), _git_head(destination))
    if key in _seen:
        return _seen[key]
    try:
        answers = yaml.safe_load((destination / ANSWERS_FILE).read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        answers = None
    if not isinstance(answers, Mapping) or not isinstance(answers.get("domains"), list):
        return {"domains": [], "heads": [], "broker": "none"}
    _seen[key] = {
        "domains": [str(d) for d in answers["domains"]],
        "heads": migration_heads(destination / "migrations" / "versions"),
        # Releases before the question existed had no broker.
        "broker": str(answers.get("broker", "none")),
    }
    return _seen[key]


class ScaffoldContext(ContextHook):
    """Adds the facts above to the context of every render."""

    def hook(self, context: dict[str, Any]) -> None:
        conf = context.get("_copier_conf")
        domains = context.get("domains")
        if conf is None or not isinstance(domains, list):
            return
        facts = previous_render(Path(conf["dst_path"]))
        scaffolded = [d for d in facts["domains"] if d in domains]
        context["scaffolded_domains"] = scaffolded
        context["added_domains"] = (
            [d for d in domains if d not in scaffolded] if facts["domains"] else []
        )
        context["migration_heads"] = facts["heads"]
        events = context.get("broker", "none") != "none"
        # The first domain publishes, the second reacts (context.py's `parent` and
        # `child`). Their sample code has the flow if it is written by this run, or was
        # written when the project had a broker.
        with_events = (
            not facts["domains"]
            or facts["broker"] != "none"
            or all(d in context["added_domains"] for d in domains[:2])
        )
        context["sample_events"] = events and len(domains) >= 2 and with_events
