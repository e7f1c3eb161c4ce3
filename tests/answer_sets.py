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
    cache           memory, redis, two_level, none
    rate_limit      sliding_window, token_bucket, none
    kubernetes      false, true

auth and cache have four levels each, so 16 sets is the minimum for pairwise
coverage (4 x 4 pairs of auth and cache alone): every auth level appears in exactly
four sets, each time with a different cache. The table below was found by a search
for a 16-row array in which every pair of levels of every two factors occurs in at
least one set; the first twelve rows kept their values from the array before cache
and rate_limit existed, so the search only chose those two factors for them (the
defaults row keeps the defaults) and every factor of the last four.
The kubernetes column was added the same way, by a search over that one column.
``tests/test_render.py`` checks the coverage, so a hand edit cannot silently lose a
pair.

Each non-default set also takes its own project name, so the package name differs
from the default ``acme_service`` and a hard-coded name in the template shows up;
one is long (``northwind_traders_global_catalog``), so an import line that only fits
with a short package name shows up too. One set also answers a question that is not
a factor (``rate_limit_per_minute: 30``, in ``extra``), so a hard-coded default of
that number shows up as well.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    "cache": ["memory", "redis", "two_level", "none"],
    "rate_limit": ["sliding_window", "token_bucket", "none"],
    "kubernetes": [False, True],
}

# The values copier.yml gives when every question keeps its default.
DEFAULTS: dict[str, Any] = {name: levels[0] for name, levels in FACTORS.items()}
DEFAULT_PACKAGE = "acme_service"


@dataclass(frozen=True)
class AnswerSet:
    id: str
    answers: Mapping[str, Any]
    project_name: str | None = None
    # Answers to questions that are not factors of the array (not in FACTORS).
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> dict[str, Any]:
        """Answers to hand copier.

        The defaults set passes nothing, so it exercises copier.yml's real defaults
        (a test checks they still equal ``DEFAULTS``); every other set passes all its
        factors explicitly, so a changed default cannot silently shift the array,
        plus its project name and its extra answers.
        """
        if self.id == "defaults":
            return {}
        data = {
            k: (list(v) if isinstance(v, list) else v) for k, v in self.answers.items()
        }
        if self.project_name is not None:
            data["project_name"] = self.project_name
        data.update(self.extra)
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
    cache: str,
    rate_limit: str,
    kubernetes: bool,
    **extra: Any,
) -> AnswerSet:
    answers = {
        "architecture": architecture,
        "database": database,
        "tracing": tracing,
        "ci": ci,
        "python_version": python_version,
        "domains": domains,
        "auth": auth,
        "cache": cache,
        "rate_limit": rate_limit,
        "kubernetes": kubernetes,
    }
    return AnswerSet(id=set_id, answers=answers, project_name=project_name, extra=extra)


_TWO = ["customer_accounts", "shipping_addresses"]
_NW = "Northwind Traders Global Catalog"

# In the ids, the cache is mem, redis, twolevel or nocache and the rate limit is
# window (sliding_window), bucket (token_bucket) or nolimit.
# fmt: off
ANSWER_SETS: list[AnswerSet] = [
    #    id                                                                   project name       architecture        database      tracing ci        python  domains          auth       cache        rate_limit  k8s
    _set("defaults",                                                          None,              "monolith",         "sqlite",     True,  "github", "3.11", DEFAULT_DOMAINS, "jwt",     "memory",    "sliding_window", False),
    _set("modular-pg-trace-noci-py313-invoices-jwt-redis-nolimit",            "Invoice Desk",    "modular_monolith", "postgresql", True,  "none",   "3.13", ["invoices"],    "jwt",     "redis",     "none", False),
    _set("modular-sqlite-notrace-github-py313-invoices-none-mem-bucket",      "Ledger Works",    "modular_monolith", "sqlite",     False, "github", "3.13", ["invoices"],    "none",    "memory",    "token_bucket",  True),
    _set("modular-sqlite-trace-gitlab-py312-two-none-nocache-bucket",         "Customer Portal", "modular_monolith", "sqlite",     True,  "gitlab", "3.12", _TWO,            "none",    "none",      "token_bucket", False),
    _set("mono-pg-notrace-noci-py311-three-none-twolevel-nolimit",            "Shop Front",      "monolith",         "postgresql", False, "none",   "3.11", DEFAULT_DOMAINS, "none",    "two_level", "none", False),
    _set("modular-pg-notrace-noci-py313-two-apikey-mem-bucket",               "Shipping Desk",   "modular_monolith", "postgresql", False, "none",   "3.13", _TWO,            "api_key", "memory",    "token_bucket",  True),
    _set("mono-sqlite-notrace-gitlab-py312-two-jwt-twolevel-bucket",          "Address Book",    "monolith",         "sqlite",     False, "gitlab", "3.12", _TWO,            "jwt",     "two_level", "token_bucket",  True),
    _set("mono-sqlite-trace-gitlab-py311-invoices-apikey-nocache-nolimit",    "Billing Hub",     "monolith",         "sqlite",     True,  "gitlab", "3.11", ["invoices"],    "api_key", "none",      "none", False),
    _set("modular-sqlite-notrace-github-py311-two-oauth2-twolevel-bucket",    "Account Hub",     "modular_monolith", "sqlite",     False, "github", "3.11", _TWO,            "oauth2",  "two_level", "token_bucket", False),
    _set("mono-pg-notrace-gitlab-py313-three-oauth2-redis-bucket30",          "Order Center",    "monolith",         "postgresql", False, "gitlab", "3.13", DEFAULT_DOMAINS, "oauth2",  "redis",     "token_bucket",  True, rate_limit_per_minute=30),
    _set("modular-pg-trace-github-py312-three-apikey-redis-window",           _NW,               "modular_monolith", "postgresql", True,  "github", "3.12", DEFAULT_DOMAINS, "api_key", "redis",     "sliding_window",  True),
    _set("mono-sqlite-trace-noci-py312-invoices-oauth2-nocache-window",       "Payment Gate",    "monolith",         "sqlite",     True,  "none",   "3.12", ["invoices"],    "oauth2",  "none",      "sliding_window",  True),
    _set("mono-pg-notrace-github-py313-three-jwt-nocache-nolimit",            "Fleet Tracker",   "monolith",         "postgresql", False, "github", "3.13", DEFAULT_DOMAINS, "jwt",     "none",      "none",  True),
    _set("mono-pg-trace-gitlab-py312-two-oauth2-mem-nolimit",                 "Claims Service",  "monolith",         "postgresql", True,  "gitlab", "3.12", _TWO,            "oauth2",  "memory",    "none",  True),
    _set("modular-sqlite-trace-gitlab-py313-invoices-apikey-twolevel-window", "Booking Engine",  "modular_monolith", "sqlite",     True,  "gitlab", "3.13", ["invoices"],    "api_key", "two_level", "sliding_window",  True),
    _set("modular-sqlite-notrace-noci-py311-two-none-redis-window",           "Inventory Sync",  "modular_monolith", "sqlite",     False, "none",   "3.11", _TWO,            "none",    "redis",     "sliding_window",  True),
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
