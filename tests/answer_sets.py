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
    broker          none, rabbitmq, nats, redis
    kubernetes      false, true
    entities        samples ({}), typed (TYPED_FIELDS on the first two domains)

auth, cache and broker have four levels each, so 16 sets is the minimum for pairwise
coverage (4 x 4 pairs of auth and cache alone), and 16 sets reach it only when every
auth level appears in exactly four sets, each time with a different cache and a
different broker, and every cache level likewise with a different broker. The table
below was found by a search for a 16-row array in which every pair of levels of every
two factors occurs in at least one set. It grew a column at a time: cache and
rate_limit, then kubernetes, each by a search over the new columns that kept the
others. No broker column fits the array that had, so the broker column was found
with the auth and cache columns and the defaults row fixed and every other cell free,
changing as few of them as it could (16 of 150, in five columns); the ids changed
with them.
The entities column came last, by a search for a two-level column that meets every
level of every other factor with both of its levels; it is a keyword at the end of
a row (``entities="typed"``), and the ids do not name it.
``tests/test_render.py`` checks the coverage, so a hand edit cannot silently lose a
pair.

Each non-default set also takes its own project name, so the package name differs
from the default ``acme_service`` and a hard-coded name in the template shows up;
one is long (``northwind_traders_global_catalog``), so an import line that only fits
with a short package name shows up too. One set also answers a question that is not
a factor (``rate_limit_per_minute: 30``, in ``extra``), so a hard-coded default of
that number shows up as well; four others take the other two ways of receiving
template releases (``template_updates``: renovate and notify, each with GitHub and
with GitLab), and two the dependency bots that are not the default (``dependency_updates``:
both, with GitHub, and none).
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
    "broker": ["none", "rabbitmq", "nats", "redis"],
    "kubernetes": [False, True],
    # The answer `entities`: {} (every domain keeps the sample entity), or fields of
    # every type and modifier (TYPED_FIELDS) for the first two domains.
    "entities": ["samples", "typed"],
}

# The values copier.yml gives when every question keeps its default.
DEFAULTS: dict[str, Any] = {name: levels[0] for name, levels in FACTORS.items()}
DEFAULT_PACKAGE = "acme_service"

# The fields of the level "typed": every type, and every modifier that applies to
# them, over two entities, the second referring to the first (a set's `on_delete`
# says how); a third domain refers to both, with the other delete behaviours. A set
# with one domain gives it the fields of both but the reference.
TYPED_FIELDS: list[dict[str, Any]] = [
    {
        "code": {"type": "string", "max_length": 40, "unique": True},
        "contact": {"type": "email", "unique": True, "filter": True},
        "note": {"type": "text", "max_length": 500, "optional": True},
        "homepage": {"type": "url", "optional": True},
        "rank": {"type": "integer", "min": 1, "max": 100, "optional": True, "filter": True},
        "active": {"type": "boolean", "default": True, "filter": True},
        "weight": {"type": "decimal", "precision": 6, "scale": 3, "min": "0.5", "max": 500, "optional": True},
    },
    {
        "reference": {"type": "uuid", "unique": True},
        "amount": {"type": "decimal", "precision": 10, "scale": 2, "min": 0, "default": "0"},
        "due_at": {"type": "datetime", "filter": True},
        "starts_on": {"type": "date", "optional": True, "filter": True},
        "quantity": {"type": "integer", "default": 1, "filter": True},
        "stage": {"type": "enum", "values": ["draft", "open", "closed"], "default": "draft", "filter": True},
    },
]  # fmt: skip


def typed_entities(
    domains: list[str], architecture: str = "monolith", on_delete: str = "restrict"
) -> dict[str, Any]:
    """The answer `entities` of the level "typed" for `domains`."""
    if len(domains) == 1:
        return {domains[0]: {**TYPED_FIELDS[0], **TYPED_FIELDS[1]}}
    reference = {"type": "ref", "to": domains[0], "on_delete": on_delete}
    if on_delete == "set_null":
        reference["optional"] = True
    first, second = TYPED_FIELDS
    typed = {domains[0]: first, domains[1]: {"holder_id": reference, **second}}
    if len(domains) > 2:
        # Two references from one domain, and the other two delete behaviours.
        typed[domains[2]] = {
            "label": {"type": "string", "max_length": 60, "unique": True},
            "maker_id": {"type": "ref", "to": domains[0], "optional": True, "on_delete": "set_null"},
            "source_id": {"type": "ref", "to": domains[1], "on_delete": "cascade"},
        }  # fmt: skip
    return typed


@dataclass(frozen=True)
class AnswerSet:
    id: str
    answers: Mapping[str, Any]
    project_name: str | None = None
    # Answers to questions that are not factors of the array (not in FACTORS).
    extra: Mapping[str, Any] = field(default_factory=dict)
    # With entities "typed", what deleting a first domain's item does to the second's.
    on_delete: str = "restrict"

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
            k: (list(v) if isinstance(v, list) else v)
            for k, v in self.answers.items()
            if k != "entities"
        }
        if self.answers["entities"] == "typed":
            data["entities"] = self.answer("entities")
        if self.project_name is not None:
            data["project_name"] = self.project_name
        data.update(self.extra)
        return data

    def answer(self, factor: str) -> Any:
        """What copier records for `factor`: a level, or for entities the mapping."""
        if factor == "entities":
            if self.answers["entities"] != "typed":
                return {}
            return typed_entities(
                list(self.answers["domains"]),
                self.answers["architecture"],
                self.on_delete,
            )
        value = self.answers[factor]
        return list(value) if isinstance(value, list) else value

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
    broker: str,
    kubernetes: bool,
    entities: str = "samples",
    on_delete: str = "restrict",
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
        "broker": broker,
        "kubernetes": kubernetes,
        "entities": entities,
    }
    return AnswerSet(set_id, answers, project_name, extra, on_delete)


_TWO = ["customer_accounts", "shipping_addresses"]
_NW = "Northwind Traders Global Catalog"

# In the ids, the cache is mem, redis, twolevel or nocache, the rate limit is
# window (sliding_window), bucket (token_bucket) or nolimit, and the broker comes
# last: nobroker, rabbit (rabbitmq), nats or streams (redis).
# fmt: off
ANSWER_SETS: list[AnswerSet] = [
    #    id                                                                        project name       architecture        database      tracing ci        python  domains          auth       cache        rate_limit        broker      k8s
    _set("defaults",                                                               None,              "monolith",         "sqlite",     True,  "github", "3.11", DEFAULT_DOMAINS, "jwt",     "memory",    "sliding_window", "none",     False),
    _set("modular-pg-trace-noci-py313-invoices-jwt-redis-nolimit-nats",            "Invoice Desk",    "modular_monolith", "postgresql", True,  "none",   "3.13", ["invoices"],    "jwt",     "redis",     "none",           "nats",     False),
    _set("modular-sqlite-notrace-github-py313-invoices-none-mem-bucket-streams",   "Ledger Works",    "modular_monolith", "sqlite",     False, "github", "3.13", ["invoices"],    "none",    "memory",    "token_bucket",   "redis",    True, dependency_updates="both", entities="typed"),
    _set("modular-sqlite-trace-gitlab-py312-three-none-nocache-window-nats",       "Customer Portal", "modular_monolith", "sqlite",     True,  "gitlab", "3.12", DEFAULT_DOMAINS, "none",    "none",      "sliding_window", "nats",     False, template_updates="renovate"),
    _set("mono-pg-notrace-noci-py311-three-none-twolevel-nolimit-rabbit",          "Shop Front",      "monolith",         "postgresql", False, "none",   "3.11", DEFAULT_DOMAINS, "none",    "two_level", "none",           "rabbitmq", False, dependency_updates="none", entities="typed", on_delete="restrict"),
    _set("mono-pg-notrace-noci-py313-two-apikey-mem-bucket-nats",                  "Shipping Desk",   "monolith",         "postgresql", False, "none",   "3.13", _TWO,            "api_key", "memory",    "token_bucket",   "nats",     True),
    _set("mono-sqlite-notrace-gitlab-py312-two-jwt-twolevel-bucket-streams",       "Address Book",    "monolith",         "sqlite",     False, "gitlab", "3.12", _TWO,            "jwt",     "two_level", "token_bucket",   "redis",    True, entities="typed", on_delete="cascade"),
    _set("mono-sqlite-trace-github-py311-invoices-apikey-nocache-nolimit-streams", "Billing Hub",     "monolith",         "sqlite",     True,  "github", "3.11", ["invoices"],    "api_key", "none",      "none",           "redis",    False, template_updates="renovate", entities="typed"),
    _set("modular-sqlite-notrace-github-py311-two-oauth2-twolevel-bucket-nats",    "Account Hub",     "modular_monolith", "sqlite",     False, "github", "3.11", _TWO,            "oauth2",  "two_level", "token_bucket",   "nats",     False, entities="typed", on_delete="set_null"),
    _set("mono-pg-notrace-noci-py313-three-oauth2-redis-window30-streams",         "Order Center",    "monolith",         "postgresql", False, "none",   "3.13", DEFAULT_DOMAINS, "oauth2",  "redis",     "sliding_window", "redis",    True, rate_limit_per_minute=30),
    _set("modular-sqlite-trace-github-py312-three-apikey-redis-bucket-rabbit",     _NW,               "modular_monolith", "sqlite",     True,  "github", "3.12", DEFAULT_DOMAINS, "api_key", "redis",     "token_bucket",   "rabbitmq", True, entities="typed", on_delete="restrict"),
    _set("mono-sqlite-trace-noci-py312-two-oauth2-nocache-bucket-nobroker",        "Payment Gate",    "monolith",         "sqlite",     True,  "none",   "3.12", _TWO,            "oauth2",  "none",      "token_bucket",   "none",     True, entities="typed", on_delete="set_null"),
    _set("mono-pg-notrace-github-py313-two-jwt-nocache-window-rabbit",             "Fleet Tracker",   "monolith",         "postgresql", False, "github", "3.13", _TWO,            "jwt",     "none",      "sliding_window", "rabbitmq", True, template_updates="notify", entities="typed", on_delete="cascade"),
    _set("mono-pg-trace-gitlab-py312-invoices-oauth2-mem-nolimit-rabbit",          "Claims Service",  "monolith",         "postgresql", True,  "gitlab", "3.12", ["invoices"],    "oauth2",  "memory",    "none",           "rabbitmq", True, template_updates="notify"),
    _set("modular-pg-trace-gitlab-py313-invoices-apikey-twolevel-window-nobroker", "Booking Engine",  "modular_monolith", "postgresql", True,  "gitlab", "3.13", ["invoices"],    "api_key", "two_level", "sliding_window", "none",     True),
    _set("modular-sqlite-notrace-gitlab-py311-two-none-redis-nolimit-nobroker",    "Inventory Sync",  "modular_monolith", "sqlite",     False, "gitlab", "3.11", _TWO,            "none",    "redis",     "none",           "none",     True),
]
# fmt: on

# Microservices are not a level of the array above: they require a broker and two
# domains, and every set of them runs several services' suites. These sets cover
# each broker, each auth and each cache once, both databases and both CI systems,
# the sample relation (Tool Shed) and the answer's: three domains with both delete
# behaviours a service can follow, on each database (Market Place, Parcel Post), and
# two with set_null, OAuth2 and Redis Streams under the long project name, so that
# a service's package name is long enough to find a line that only fits with a short
# one (Northwind Traders Global Catalog).
# fmt: off
MICROSERVICE_SETS: list[AnswerSet] = [
    #    id                                                          project name      architecture     database      tracing ci        python  domains          auth       cache        rate_limit        broker      k8s
    _set("micro-sqlite-trace-github-py311-three-jwt-mem-window-rabbit", "Market Place",  "microservices", "sqlite",     True,  "github", "3.11", DEFAULT_DOMAINS, "jwt",     "memory",    "sliding_window", "rabbitmq", True, entities="typed", on_delete="cascade"),
    _set("micro-pg-notrace-gitlab-py312-three-apikey-redis-bucket-nats", "Parcel Post",   "microservices", "postgresql", False, "gitlab", "3.12", DEFAULT_DOMAINS, "api_key", "redis",     "token_bucket",   "nats",     True, entities="typed", on_delete="set_null"),
    _set("micro-pg-trace-noci-py313-two-oauth2-twolevel-nolimit-streams", _NW,  "microservices", "postgresql", True,  "none",   "3.13", _TWO,            "oauth2",  "two_level", "none",           "redis",    False, entities="typed", on_delete="set_null"),
    _set("micro-sqlite-notrace-github-py312-two-none-nocache-window-rabbit", "Tool Shed", "microservices", "sqlite",     False, "github", "3.12", ["tools", "loans"], "none",  "none",      "sliding_window", "rabbitmq", True),
]
# fmt: on

# The array's typed sets of three domains, those that hold every delete behaviour, are
# a monolith on PostgreSQL and a modular monolith on SQLite; these two sets add the
# other two, so that `make check` runs the whole typed spec for each architecture and
# each database (test_generated.py checks it).
# fmt: off
ENTITY_SETS: list[AnswerSet] = [
    #    id                                                                  project name    architecture        database      tracing ci        python  domains          auth       cache        rate_limit        broker      k8s
    _set("mono-sqlite-trace-gitlab-py313-three-apikey-redis-window-nats",    "Garden Centre", "monolith",         "sqlite",     True,  "gitlab", "3.13", DEFAULT_DOMAINS, "api_key", "redis",     "sliding_window", "nats",     False, entities="typed"),
    _set("modular-pg-notrace-github-py311-three-jwt-twolevel-bucket-streams", "Stock Room",   "modular_monolith", "postgresql", False, "github", "3.11", DEFAULT_DOMAINS, "jwt",     "two_level", "token_bucket",   "redis",    False, entities="typed"),
]
# fmt: on

# Every set whose project test_generated.py runs `make check` in.
CHECKED_SETS = ANSWER_SETS + MICROSERVICE_SETS + ENTITY_SETS
BY_ID = {s.id: s for s in CHECKED_SETS}
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
    sets: list[AnswerSet] = ANSWER_SETS,
) -> list[Any]:
    """`sets` (those that keep() accepts) as pytest params with readable ids."""
    return [pytest.param(s, id=s.id) for s in sets if keep(s)]
