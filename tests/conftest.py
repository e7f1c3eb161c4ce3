"""Fixtures of the template's test suite (pytest-copie provides `copie`, `copie_session`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from answer_sets import AnswerSet
from helpers import REPO_ROOT
from pytest_copie.plugin import Copie, Result


def pytest_configure(config: pytest.Config) -> None:
    # pytest-copie's --template defaults to ".", the working directory: run from
    # anywhere else, point it at this repository instead of failing obscurely.
    template = Path(config.option.template).resolve()
    if template == Path.cwd().resolve() and not (template / "copier.yml").is_file():
        config.option.template = str(REPO_ROOT)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slow tests first, and the longest of them (microservices) first of all.

    A run ends when its last test does: started early, the long tests overlap one
    another and the short ones fill the gaps, instead of one long test running alone
    at the end while the other workers idle. The order is the same on every xdist
    worker, as xdist requires; pytest.ini's --maxschedchunk=1 makes xdist deal the
    tests out in this order, a test or two per worker at a time.
    """

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("slow") is None:
            return 3
        if "microservices" in item.nodeid or "[micro-" in item.nodeid:
            return 0
        # Each renders a release, updates it and runs the project's suite.
        return 1 if item.nodeid.startswith("tests/test_update.py") else 2

    items.sort(key=rank)


@pytest.fixture(scope="session")
def render(copie_session: Copie) -> Callable[[AnswerSet], Result]:
    """Render an answer set once per session and share the result.

    Under xdist that is once per worker that runs one of the set's tests. (Grouping a
    set's tests on one worker with `--dist loadgroup` does not work with pytest 9.2 and
    pytest-xdist 3.8.0: xdist writes the group into `item._nodeid`, which pytest 9 no
    longer reads, so the groups are silently ignored.) Tests must only read what this
    returns; tests that run tools in a project render their own copy with `copie`.
    """
    cache: dict[str, Result] = {}

    def _render(answer_set: AnswerSet) -> Result:
        if answer_set.id not in cache:
            cache[answer_set.id] = copie_session.copy(extra_answers=answer_set.data)
        return cache[answer_set.id]

    return _render
