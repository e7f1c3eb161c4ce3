"""The answer sets every template test runs against: a pairwise covering array.

Factors and levels (the first level of each is the template's default):

    architecture    monolith, modular_monolith
    database        sqlite, postgresql
    tracing         true, false
    ci              github, gitlab, none
    python_version  3.11, 3.12, 3.13
    domains         [users, orders, products], [invoices],
                    [customer_accounts, shipping_addresses]
    auth            jwt, oauth2, api_key, none

auth has four levels and three factors have three, so 12 sets is the minimum for
pairwise coverage (4 x 3 pairs of auth and ci alone). The table below was found by
a search for a 12-row array in which every pair of levels of every two factors
occurs in at least one set;
``tests/test_render.py`` checks that, so a hand edit cannot silently lose a pair.

Each non-default set also takes its own project name, so the package name differs
from the default ``acme_service`` and a hard-coded name in the template shows up;
one is long (``northwind_traders_global_catalog``), so an import line that only fits
with a short package name shows up too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

DEFAULT_DOMAINS = ["users", "orders", "products"]

FACTORS: dict[str, list[Any]] = {
    "architecture": ["monolith", "modular_monolith"],
    "database": ["sqlite", "postgresql"],
    "tracing": [True, False],
    "ci": ["github", "gitlab", "none"],
    "python_version": ["3.11", "3.12", "3.13"],
    "domains": [
        DEFAULT_DOMAINS,
        ["invoices"],
        ["customer_accounts", "shipping_addresses"],
    ],
    "auth": ["jwt", "oauth2", "api_key", "none"],
}

# The values copier.yml gives when every question keeps its default.
DEFAULTS: dict[str, Any] = {name: levels[0] for name, levels in FACTORS.items()}
DEFAULT_PACKAGE = "acme_service"


@dataclass(frozen=True)
class AnswerSet:
    id: str
    answers: Mapping[str, Any]
    project_name: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        """Answers to hand copier.

        The defaults set passes nothing, so it exercises copier.yml's real defaults
        (a test checks they still equal ``DEFAULTS``); every other set passes all its
        factors explicitly, so a changed default cannot silently shift the array.
        """
        if self.id == "defaults":
            return {}
        data = {
            k: (list(v) if isinstance(v, list) else v) for k, v in self.answers.items()
        }
        if self.project_name is not None:
            data["project_name"] = self.project_name
        return data

    def __getitem__(self, key: str) -> Any:
        return self.answers[key]


def _set(
    set_id: str,
    project_name: str | None,
    architecture: str,
    database: str,
    tracing: bool,
    ci: str,
    python_version: str,
    domains: list[str],
    auth: str,
) -> AnswerSet:
    answers = {
        "architecture": architecture,
        "database": database,
        "tracing": tracing,
        "ci": ci,
        "python_version": python_version,
        "domains": domains,
        "auth": auth,
    }
    return AnswerSet(id=set_id, answers=answers, project_name=project_name)


_TWO = ["customer_accounts", "shipping_addresses"]

# fmt: off
ANSWER_SETS: list[AnswerSet] = [
    #    id                                            project name       architecture        database      tracing ci        python  domains          auth
    _set("defaults",                                   None,              "monolith",         "sqlite",     True,  "github", "3.11", DEFAULT_DOMAINS, "jwt"),
    _set("modular-pg-trace-noci-py313-invoices-jwt",   "Invoice Desk",    "modular_monolith", "postgresql", True,  "none",   "3.13", ["invoices"],    "jwt"),
    _set("modular-sqlite-notrace-github-py313-invoices-none", "Ledger Works", "modular_monolith", "sqlite", False, "github", "3.13", ["invoices"],    "none"),
    _set("modular-sqlite-trace-gitlab-py312-two-none", "Customer Portal", "modular_monolith", "sqlite",     True,  "gitlab", "3.12", _TWO,            "none"),
    _set("mono-pg-notrace-noci-py311-three-none",      "Shop Front",      "monolith",         "postgresql", False, "none",   "3.11", DEFAULT_DOMAINS, "none"),
    _set("modular-pg-notrace-noci-py313-two-apikey",   "Shipping Desk",   "modular_monolith", "postgresql", False, "none",   "3.13", _TWO,            "api_key"),
    _set("mono-sqlite-notrace-gitlab-py312-two-jwt",   "Address Book",    "monolith",         "sqlite",     False, "gitlab", "3.12", _TWO,            "jwt"),
    _set("mono-sqlite-trace-gitlab-py311-invoices-apikey", "Billing Hub", "monolith",         "sqlite",     True,  "gitlab", "3.11", ["invoices"],    "api_key"),
    _set("modular-sqlite-notrace-github-py311-two-oauth2", "Account Hub", "modular_monolith", "sqlite",     False, "github", "3.11", _TWO,            "oauth2"),
    _set("mono-pg-notrace-gitlab-py313-three-oauth2",  "Order Center",    "monolith",         "postgresql", False, "gitlab", "3.13", DEFAULT_DOMAINS, "oauth2"),
    _set("modular-pg-trace-github-py312-three-apikey", "Northwind Traders Global Catalog", "modular_monolith", "postgresql", True,  "github", "3.12", DEFAULT_DOMAINS, "api_key"),
    _set("mono-sqlite-trace-noci-py312-invoices-oauth2", "Payment Gate",  "monolith",         "sqlite",     True,  "none",   "3.12", ["invoices"],    "oauth2"),
]
# fmt: on

BY_ID = {s.id: s for s in ANSWER_SETS}
DEFAULT_SET = BY_ID["defaults"]


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def missing_pairs(
    sets: list[AnswerSet] = ANSWER_SETS,
) -> list[tuple[str, Any, str, Any]]:
    """Every (factor, level, factor, level) pair that no set covers."""
    missing = []
    for (f1, levels1), (f2, levels2) in itertools.combinations(FACTORS.items(), 2):
        seen = {(_key(s.answers[f1]), _key(s.answers[f2])) for s in sets}
        for l1, l2 in itertools.product(levels1, levels2):
            if (_key(l1), _key(l2)) not in seen:
                missing.append((f1, l1, f2, l2))
    return missing


def answer_set_params(
    keep: Callable[[AnswerSet], bool] = lambda answer_set: True,
) -> list[Any]:
    """ANSWER_SETS (those that keep() accepts) as pytest params with readable ids."""
    return [pytest.param(s, id=s.id) for s in ANSWER_SETS if keep(s)]
