"""The Mermaid diagrams of the architecture documents parse and say what the project
is: the domains or services it has, and only imports its import-linter contracts allow.

Marked slow: Mermaid's own CLI renders every diagram in headless Chromium, which is
what tells a diagram that parses from one that does not (`make mermaid` installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from answer_sets import BY_ID, DEFAULT_SET, AnswerSet
from helpers import REPO_ROOT
from pytest_copie.plugin import Result

# Between them: each style, each auth flow, a broker's event flow, a remote parent.
SETS = [
    DEFAULT_SET,
    BY_ID["modular-sqlite-trace-github-py312-three-apikey-redis-bucket-rabbit"],
    BY_ID["mono-sqlite-trace-noci-py312-two-oauth2-nocache-bucket-nobroker"],
    BY_ID["micro-sqlite-trace-github-py311-three-jwt-mem-window-rabbit"],
]
BLOCK = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)
NODE = re.compile(r"\bd_(\w+)\[")
# `a --> b`, `a & b --> c & d`, with an optional |label|; node ids only.
EDGE = re.compile(r"^\s*([\w &]+?)\s*-->(?:\|[^|]*\|)?\s*([\w &]+?)(?:\[.*)?$")
# The layers diagram's nodes that are not a package's last name.
NODE_PACKAGES = {"root": {"bootstrap", "wiring"}, "platform": {"shared", "platform"}}


def architecture_docs(project: Path) -> list[Path]:
    return sorted(project.glob("**/docs/architecture.md"))


def sections(doc: Path) -> dict[str, list[str]]:
    """The Mermaid blocks of `doc`, by the title of the section they are in."""
    found: dict[str, list[str]] = {}
    for part in doc.read_text(encoding="utf-8").split("\n## ")[1:]:
        title, _, body = part.partition("\n")
        found[title] = BLOCK.findall(body)
    return found


def mermaid_problems(docs: list[Path], scratch: Path) -> str:
    """What Mermaid's CLI says of the diagrams of `docs`, rendered in one run."""
    mmdc = REPO_ROOT / ".npm-tools" / "node_modules" / ".bin" / "mmdc"
    chromium = shutil.which("chromium")
    assert mmdc.is_file(), "Mermaid's CLI is missing: `make mermaid` installs it"
    assert chromium, "Chromium is missing: `make mermaid` installs it"
    config = scratch / "puppeteer.json"
    # --no-sandbox: CI runs as root.
    config.write_text(
        json.dumps({"executablePath": chromium, "args": ["--no-sandbox"]})
    )
    blocks = [block for doc in docs for block in BLOCK.findall(doc.read_text())]
    assert blocks, "no diagram at all"
    source = scratch / "diagrams.md"
    source.write_text("".join(f"```mermaid\n{block}```\n\n" for block in blocks))
    done = subprocess.run(
        [
            str(mmdc),
            "-p",
            str(config),
            "-i",
            str(source),
            "-o",
            str(scratch / "out.md"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    return "" if done.returncode == 0 else done.stdout[-3000:] + done.stderr[-3000:]


def edges(block: str) -> set[tuple[str, str]]:
    pairs = set()
    for line in block.splitlines():
        if match := EDGE.match(line):
            sources, targets = (side.split("&") for side in match.groups())
            pairs |= {(a.strip(), b.strip()) for a in sources for b in targets}
    return pairs


def forbidden_imports(pyproject: Path) -> set[tuple[str, str]]:
    """(importer, imported) by a package's last name, from the import-linter
    contracts: a forbidden contract's pairs, and a layers contract's upward ones."""
    contracts = tomllib.loads(pyproject.read_text())["tool"]["importlinter"][
        "contracts"
    ]
    pairs = set()
    for contract in contracts:
        if contract["type"] == "forbidden":
            pairs |= {
                (_last(a), _last(b))
                for a in contract["source_modules"]
                for b in contract["forbidden_modules"]
            }
        elif contract["type"] == "layers":
            layers = [_last(layer) for layer in contract["layers"]]
            pairs |= {
                (low, high) for i, high in enumerate(layers) for low in layers[i + 1 :]
            }
    return pairs


def _last(module: str) -> str:
    return module.rsplit(".", 1)[-1]


@pytest.mark.slow
@pytest.mark.parametrize("answer_set", SETS, ids=lambda answer_set: answer_set.id)
def test_diagrams_parse_and_match_the_project(
    answer_set: AnswerSet, render: Callable[[AnswerSet], Result], tmp_path: Path
) -> None:
    result = render(answer_set)
    assert result.exit_code == 0, result.exception
    project = result.project_dir
    assert project is not None
    docs = architecture_docs(project)

    assert not (problems := mermaid_problems(docs, tmp_path)), problems

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    system = answers["architecture"] == "microservices"
    for doc in docs:
        found = sections(doc)
        if system and doc.parent.parent == project:
            # The system's document: a node per service, as services/ has.
            services = {path.name for path in (project / "services").iterdir()}
            assert set(NODE.findall(found["Services"][0])) == services
            continue
        # A service's document: a node per domain it holds...
        root = doc.parent.parent
        domains = {root.name} if system else set(answers["domains"])
        parts = found["Decomposition and data ownership"][0]
        assert set(NODE.findall(parts)) == domains, doc
        # ...and no arrow its import contracts forbid.
        layers = found["Style and rationale"][0]
        forbidden = forbidden_imports(root / "pyproject.toml")
        drawn = {
            (a, b)
            for x, y in edges(layers)
            for a in NODE_PACKAGES.get(x, {x})
            for b in NODE_PACKAGES.get(y, {y})
        }
        assert drawn, doc
        assert not drawn & forbidden, (doc, drawn & forbidden)
