"""The documentation agrees with copier.yml, and the site builds with --strict."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import remote_loads

ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = ROOT / "copier.yml"
README = ROOT / "README.md"
QUESTIONS_DOC = ROOT / "docs" / "questions.md"
VALIDATORS = ROOT / "extensions" / "validators.py"
QUESTION_TABLES = [README, QUESTIONS_DOC]

TWO_COMMANDS = """\
```
make demo   # generate a service with the default answers into ./demo and run it on http://127.0.0.1:8000
make test   # the template's whole test suite (what CI runs)
```"""

CODE = re.compile(r"`([^`]+)`")
SEPARATOR_CELL = re.compile(r"^:?-+:?$")


# --- copier.yml -----------------------------------------------------------------


@cache
def questions() -> dict[str, dict[str, Any]]:
    """Question key -> its settings, in the order Copier asks them."""
    merged: dict[str, Any] = {}
    for document in yaml.safe_load_all(COPIER_YML.read_text(encoding="utf-8")):
        merged.update(document or {})
    specs = {
        key: spec if isinstance(spec, dict) else {"default": spec}
        for key, spec in merged.items()
        if not key.startswith("_")
    }
    # `when: false` entries are computed values, never asked.
    return {key: spec for key, spec in specs.items() if spec.get("when") is not False}


def as_markdown(value: Any) -> str:
    """How a YAML scalar is written in the docs: `true`, not `True`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def choice_values(spec: dict[str, Any]) -> list[str]:
    """The choices' values, default first, then in copier.yml's order."""
    raw = spec["choices"]
    if isinstance(raw, dict):
        values = list(raw.values())
    else:
        values = [item[1] if isinstance(item, list) else item for item in raw]
    values = [as_markdown(v) for v in values]
    default = as_markdown(spec.get("default"))
    if default in values:
        values.remove(default)
        values.insert(0, default)
    return values


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


# --- markdown -------------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]

    def column(self, prefix: str) -> int:
        matches = [
            i for i, name in enumerate(self.header) if name.lower().startswith(prefix)
        ]
        assert len(matches) == 1, f"expected one column named {prefix}*: {self.header}"
        return matches[0]


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    # A pipe escaped as \| belongs to the cell's text.
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", inner)]


def tables(text: str) -> list[Table]:
    """Every pipe table outside code fences."""
    found: list[Table] = []
    block: list[str] = []
    fenced = False
    for line in [*text.splitlines(), ""]:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced and line.lstrip().startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2 and all(SEPARATOR_CELL.match(c) for c in _cells(block[1])):
            found.append(Table(_cells(block[0]), [_cells(row) for row in block[2:]]))
        block = []
    return found


def question_table(path: Path) -> Table:
    """The one table of the page whose first column is `key`."""
    candidates = [
        table
        for table in tables(path.read_text(encoding="utf-8"))
        if table.header[0].lower() == "key"
    ]
    assert len(candidates) == 1, f"{path.name}: expected one table headed 'key'"
    return candidates[0]


def row_key(row: list[str], path: Path) -> str:
    match = re.fullmatch(r"`([^`]+)`", row[0])
    assert match, f"{path.name}: question row without a `key` first cell: {row}"
    return match[1]


def rows_by_key(path: Path) -> dict[str, list[str]]:
    table = question_table(path)
    return {row_key(row, path): row for row in table.rows}


# --- (a) the question tables list exactly the questions ----------------------------


@pytest.mark.parametrize("path", QUESTION_TABLES, ids=lambda p: p.name)
def test_question_table_lists_exactly_the_questions_in_order(path: Path) -> None:
    table = question_table(path)
    documented = [row_key(row, path) for row in table.rows]

    assert documented == list(questions())


def test_questions_doc_has_one_section_per_question_in_order() -> None:
    text = QUESTIONS_DOC.read_text(encoding="utf-8")
    sections = re.findall(r"^#{2,4} `([^`]+)`\s*$", text, flags=re.MULTILINE)

    assert sections == list(questions())


# --- (b) choices and defaults match --------------------------------------------------


@pytest.mark.parametrize("key", list(questions()))
def test_questions_doc_lists_the_choices(key: str) -> None:
    table = question_table(QUESTIONS_DOC)
    cell = rows_by_key(QUESTIONS_DOC)[key][table.column("choices")]
    spec = questions()[key]

    expected = choice_values(spec) if "choices" in spec else []
    assert CODE.findall(cell) == expected


@pytest.mark.parametrize(
    "key", [key for key, spec in questions().items() if "choices" in spec]
)
def test_readme_lists_the_choices_default_first(key: str) -> None:
    table = question_table(README)
    cell = rows_by_key(README)[key][table.column("choices")]

    assert CODE.findall(cell) == choice_values(questions()[key])


@pytest.mark.parametrize("key", list(questions()))
def test_questions_doc_states_the_default(key: str) -> None:
    table = question_table(QUESTIONS_DOC)
    cell = rows_by_key(QUESTIONS_DOC)[key][table.column("default")]
    default = questions()[key].get("default")

    if is_templated(default):
        assert cell.startswith("derived"), f"{key}: a computed default says 'derived'"
    else:
        assert CODE.findall(cell)[:1] == [as_markdown(default)]


def test_questions_doc_lists_the_reserved_domain_names() -> None:
    spec = importlib.util.spec_from_file_location("template_validators", VALIDATORS)
    assert spec is not None and spec.loader is not None
    validators = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(validators)
    text = QUESTIONS_DOC.read_text(encoding="utf-8")
    listed = re.search(r"not reserved,[^:]*:\s*((?:`[a-z_]+`,?\s*)+)", text)

    assert listed, "docs/questions.md: the reserved domain names are not listed"
    assert set(CODE.findall(listed[1])) == set(validators.RESERVED_DOMAINS)


# --- the README starts with the two commands ----------------------------------------


def test_readme_first_section_gives_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_section = text.split("\n## ", 2)[1]

    assert TWO_COMMANDS in first_section


# --- (c) the site builds --------------------------------------------------------------


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    for page in ("getting-started", "questions", "generated-service", "development"):
        assert (site / page / "index.html").is_file()
    # Diagrams are drawn by the site's own copy of Mermaid's script.
    assert (site / "javascripts" / "mermaid.min.js").is_file()
    assert '<pre class="mermaid">' in (site / "updating" / "index.html").read_text()
    # Offline, a page must still look right: it loads nothing from another host
    # (links to other sites are fine).
    for page in sorted(site.rglob("*.html")):
        loads = remote_loads(page.read_text(encoding="utf-8"))
        assert loads == [], f"{page.relative_to(site)} loads {loads}"


@pytest.mark.slow
def test_the_site_draws_its_diagrams_offline(tmp_path: Path) -> None:
    """A page with a diagram, opened in headless Chromium that can reach no host:
    Material replaces a diagram's source with the drawing once Mermaid has drawn it,
    which it can only do with the site's own copy of the script."""
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is missing: `make mermaid` installs it"
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=True,
        timeout=300,
    )
    page = site / "updating" / "index.html"
    assert '<pre class="mermaid">' in page.read_text(encoding="utf-8")

    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--allow-file-access-from-files",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert '<div class="mermaid">' in done.stdout
    assert '<pre class="mermaid">' not in done.stdout
