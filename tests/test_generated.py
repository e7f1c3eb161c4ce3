"""Each answer set's project passes its own quality gates as rendered (slow).

`make check` in the raw render: ruff check, ruff format --check, black --check,
mypy --strict, import-linter and the project's own tests with coverage >= 90 %
(against the real PostgreSQL for database=postgresql); then the OpenAPI document
of each service through Redocly's recommended lint rules, and the docs sites that
`make check` built. The schema test runs its 25 examples per operation in the
defaults and 5 in the other sets (helpers.SCHEMA_EXAMPLES). Runs as a new user
would: no uv on PATH (the Makefile bootstraps its own), installs share one uv cache.
For a microservices system that is every service's gates and suite, the platform
library's gates, and the cross-service tests that run the services as processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from answer_sets import CHECKED_SETS, AnswerSet, answer_set_params
from helpers import (
    catalog_problems,
    docs_site_problems,
    failure_report,
    fewer_schema_examples,
    openapi_lint_problems,
    project_env,
    run_logged,
)
from pytest_copie.plugin import Copie
from test_entities import entities

MAKE_CHECK_TIMEOUT_S = 30 * 60


@pytest.mark.slow
@pytest.mark.parametrize("answer_set", answer_set_params(sets=CHECKED_SETS))
def test_make_check_passes(answer_set: AnswerSet, copie: Copie, tmp_path: Path) -> None:
    result = copie.copy(extra_answers=answer_set.data)
    assert (
        result.exit_code == 0
    ), f"{answer_set.id} did not render: {result.exception!r}"
    assert result.project_dir is not None

    if answer_set.id != "defaults":
        fewer_schema_examples(result.project_dir)
    env = project_env(answer_set)
    # -k: run every gate even after one fails, so one run reports all of them.
    code, output = run_logged(
        ["make", "-k", "check"],
        cwd=result.project_dir,
        env=env,
        timeout_s=MAKE_CHECK_TIMEOUT_S,
        log=tmp_path / "make-check.log",
    )

    assert code == 0, failure_report(answer_set.id, code, output)
    # PATH had no uv: the project's Makefile installed its own, as on a new machine.
    assert (result.project_dir / ".tools" / "bin" / "uv").is_file()
    # Each service's OpenAPI document: no error and no warning of Redocly's
    # recommended ruleset.
    problems = openapi_lint_problems(result.project_dir, env)
    assert not problems, "\n".join(problems)
    # The catalog's API entities read the OpenAPI documents `make install` exported.
    assert catalog_problems(result.project_dir, exported=True) == []
    # `make check` built the docs sites.
    assert docs_site_problems(result.project_dir) == []


def _spec_holds(spec: dict[str, dict[str, Any]]) -> tuple[set[str], set[str], set[str]]:
    """The types, modifiers and delete behaviours of the answer `entities` `spec`."""
    fields = [
        {"type": field} if isinstance(field, str) else field
        for entity in spec.values()
        for field in entity.values()
    ]
    types = {field["type"] for field in fields}
    modifiers = {modifier for field in fields for modifier in field}
    on_delete = {
        field.get("on_delete", "restrict") for field in fields if field["type"] == "ref"
    }
    return types, modifiers, on_delete


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize(
    "architecture", ["monolith", "modular_monolith", "microservices"]
)
def test_make_check_runs_a_spec_of_every_type_modifier_and_delete_behaviour(
    architecture: str, database: str
) -> None:
    # A service's database cannot refuse a delete in another service's.
    behaviours = set(entities.ON_DELETE)
    if architecture == "microservices":
        behaviours.discard("restrict")
    everything = (set(entities.TYPES), set(entities.MODIFIERS), behaviours)
    holding = [
        answer_set.id
        for answer_set in CHECKED_SETS
        if answer_set["architecture"] == architecture
        and answer_set["database"] == database
        and _spec_holds(answer_set.answer("entities")) == everything
    ]
    assert holding, f"no checked {architecture} set on {database} holds every case"
