"""The answer `entities` read into the model the templates render from, and the
messages of the answers that cannot be rendered (extensions/entities.py)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any
from uuid import UUID

import jinja2
import pydantic
import pytest
import yaml

MODULE = Path(__file__).resolve().parents[1] / "extensions" / "entities.py"
DOMAINS = ["users", "orders", "products"]
# The example of DESIGN.md section 2 and docs/questions.md.
EXAMPLE = """
users:
  email: {type: email, unique: true}
  display_name: {type: string, max_length: 80}
  age: {type: integer, min: 0, max: 150, optional: true}
orders:
  user: {type: ref, to: users, on_delete: cascade}
  total: {type: decimal, precision: 12, scale: 2, min: 0}
  placed_at: datetime
  state: {type: enum, values: [pending, paid, shipped], default: pending, filter: true}
"""


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("template_entities", MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up while they are made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


entities = load()


def fields(answer: Any) -> dict[str, dict[str, Any]]:
    read = entities.read_entities(answer, DOMAINS)
    return {
        domain: {field.name: field for field in entity.fields}
        for domain, entity in read.items()
    }


def test_the_documented_example_reads_as_it_says() -> None:
    read = fields(yaml.safe_load(EXAMPLE))

    assert list(read) == ["users", "orders"]
    users, orders = read["users"], read["orders"]
    assert list(users) == ["email", "display_name", "age"]
    assert (users["email"].type, users["email"].unique) == ("email", True)
    assert users["display_name"].max_length == 80
    age = users["age"]
    assert (age.min, age.max, age.optional) == (0, 150, True)
    assert (orders["user"].to, orders["user"].on_delete) == ("users", "cascade")
    total = orders["total"]
    assert (total.precision, total.scale, total.min) == (12, 2, Decimal(0))
    assert orders["placed_at"].type == "datetime"
    state = orders["state"]
    assert state.values == ("pending", "paid", "shipped")
    assert (state.default, state.filter) == ("pending", True)
    assert entities.read_entities(yaml.safe_load(EXAMPLE), DOMAINS)[
        "orders"
    ].references == (orders["user"],)


def test_a_shorthand_field_takes_the_defaults_of_its_type() -> None:
    read = fields({"products": {"name": "string", "price": "decimal", "note": "text"}})

    name, price, note = read["products"].values()
    assert (name.max_length, name.optional, name.unique, name.has_default) == (
        200,
        False,
        False,
        False,
    )
    assert (price.precision, price.scale) == (12, 2)
    assert note.max_length is None


@pytest.mark.parametrize("answer", [None, {}])
def test_no_entities_keep_every_sample(answer: Any) -> None:
    assert entities.read_entities(answer, DOMAINS) == {}
    assert entities.entities_error(answer, DOMAINS) == ""


# (answer, what the message must say), each an answer a user could write.
REFUSED = [
    pytest.param(["users"], "entities is a mapping", id="not-a-mapping"),
    pytest.param({"invoices": {"n": "integer"}}, "entities.invoices: not a domain", id="unknown-domain"),
    pytest.param({"users": {}}, "entities.users: give its fields", id="no-fields"),
    pytest.param({"users": {"id": "uuid"}}, "entities.users.id: every entity has id already", id="reserved"),
    pytest.param({"users": {"DisplayName": "string"}}, "snake_case", id="field-case"),
    pytest.param({"users": {"class": "string"}}, "'class' is a Python keyword", id="keyword"),
    pytest.param({"users": {"n": {"max_length": 3}}}, "give a type", id="no-type"),
    pytest.param({"users": {"balance": "money"}}, "unknown type 'money'", id="unknown-type"),
    pytest.param({"users": {"n": {"type": "string", "nullable": True}}}, "unknown modifier 'nullable'", id="unknown-modifier"),
    pytest.param({"users": {"ok": {"type": "boolean", "max_length": 3}}}, "max_length does not apply to a boolean", id="modifier-of-another-type"),
    pytest.param({"users": {"n": {"type": "string", "optional": "yes"}}}, "optional is true or false", id="flag-not-bool"),
    pytest.param({"users": {"n": {"type": "string", "max_length": 0}}}, "max_length is a whole number, at least 1", id="max-length"),
    pytest.param({"users": {"age": {"type": "integer", "min": 1.5}}}, "min of an integer is a whole number", id="integer-bound"),
    pytest.param({"users": {"age": {"type": "integer", "min": 10, "max": 1}}}, "min is above max", id="min-above-max"),
    pytest.param({"users": {"age": {"type": "integer", "max": 9, "default": 10}}}, "the default is above max", id="default-above-max"),
    pytest.param({"users": {"n": {"type": "string", "max_length": 2, "default": "abc"}}}, "longer than max_length", id="default-too-long"),
    pytest.param({"users": {"ok": {"type": "boolean", "default": "yes"}}}, "true or false", id="default-not-bool"),
    pytest.param({"users": {"born": {"type": "date", "default": "2000-01-01"}}}, "default does not apply to a date", id="default-of-a-date"),
    pytest.param({"orders": {"total": {"type": "decimal", "precision": 0}}}, "precision is a whole number from 1 to 38", id="precision"),
    pytest.param({"orders": {"total": {"type": "decimal", "precision": 4, "scale": 5}}}, "scale is a whole number from 0 to the precision (4)", id="scale"),
    pytest.param({"orders": {"total": {"type": "decimal", "scale": 2, "default": "1.234"}}}, "more than 2 decimal places", id="default-places"),
    pytest.param({"orders": {"total": {"type": "decimal", "precision": 4, "scale": 2, "max": 100}}}, "more than 2 digits before the point", id="bound-digits"),
    pytest.param({"orders": {"state": "enum"}}, "an enum lists its values", id="enum-without-values"),
    pytest.param({"orders": {"state": {"type": "enum", "values": ["new", "new"]}}}, "listed twice", id="enum-duplicate"),
    pytest.param({"orders": {"state": {"type": "enum", "values": ["New"]}}}, "'New' is not snake_case", id="enum-case"),
    pytest.param({"orders": {"state": {"type": "enum", "values": ["new"], "default": "old"}}}, "not one of the values", id="enum-default"),
    pytest.param({"orders": {"user": "ref"}}, "names the domain it points to with `to:`", id="ref-without-to"),
    pytest.param({"orders": {"user": {"type": "ref", "to": "people"}}}, "(one of users, orders, products)", id="ref-to-unknown"),
    pytest.param({"orders": {"parent": {"type": "ref", "to": "orders"}}}, "its own domain", id="ref-to-itself"),
    pytest.param({"orders": {"user": {"type": "ref", "to": "users", "on_delete": "ignore"}}}, "on_delete is one of restrict, set_null, cascade", id="on-delete"),
    pytest.param({"orders": {"user": {"type": "ref", "to": "users", "on_delete": "set_null"}}}, "set_null needs optional: true", id="set-null-required"),
    pytest.param({"orders": {"limit": {"type": "integer", "filter": True}}}, "clash with the list's own limit", id="filter-named-limit"),
    pytest.param({"orders": {"count": {"type": "integer", "max": 2**40}}}, "beyond what an integer column holds", id="integer-beyond-column"),
    pytest.param({"orders": {"self": "string"}}, "the entity's methods uses the name self", id="taken-by-code"),
    pytest.param({"orders": {"model_name": "string"}}, "a Pydantic model uses the name model_name", id="taken-by-pydantic"),
    pytest.param({"orders": {"state": {"type": "enum", "values": ["a", "b"], "unique": True}}}, "unique does not apply to an enum", id="unique-enum"),
    pytest.param({"orders": {"user": {"type": "ref", "to": "users", "unique": True}}}, "unique does not apply to a ref", id="unique-ref"),
    pytest.param({"orders": {"user": {"type": "ref", "to": "users", "filter": True}}}, "filter does not apply to a ref", id="filter-ref"),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "message"), REFUSED)
def test_an_answer_that_cannot_be_rendered_is_refused_with_why(
    answer: Any, message: str
) -> None:
    error = entities.entities_error(answer, DOMAINS)

    assert message in error
    with pytest.raises(entities.EntityError, match=r"^entities"):
        entities.read_entities(answer, DOMAINS)


# Answers that read well field by field, but that this release cannot render: most
# for relations that cannot be kept.
REFUSED_RELATIONS = [
    pytest.param(
        {"orders": {"buyer": {"type": "ref", "to": "users"}, "seller": {"type": "ref", "to": "users"}, "total": "decimal"}},
        "monolith",
        "entities.orders.seller: orders refer to users once already",
        id="two-references-to-one-domain",
    ),
    pytest.param(
        {
            "users": {"favourite": {"type": "ref", "to": "products", "optional": True, "on_delete": "set_null"}, "name": "string"},
            "orders": {"user": {"type": "ref", "to": "users"}, "total": "decimal"},
            "products": {"first_order": {"type": "ref", "to": "orders"}, "name": "string"},
        },
        "modular_monolith",
        "entities: orders -> users -> products -> orders refer to each other in a circle",
        id="references-in-a-circle",
    ),
    pytest.param(
        {"users": {"name": "string"}, "orders": {"total": "decimal"}},
        "microservices",
        "entities: give one of the services a ref to another's items (or leave orders out",
        id="services-without-a-relation",
    ),
    pytest.param(
        {"orders": {"user": {"type": "ref", "to": "users"}, "total": "decimal"}},
        "microservices",
        "entities.orders.user: users live in a service of their own, whose database cannot refuse a delete for orders",
        id="restrict-between-services",
    ),
    pytest.param(
        {"orders": {"user": {"type": "ref", "to": "users"}, "product": {"type": "ref", "to": "products"}}},
        "monolith",
        "entities.orders: give it a field besides its references",
        id="references-only",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("answer", "architecture", "message"), REFUSED_RELATIONS)
def test_relations_that_cannot_be_kept_are_refused_with_why(
    answer: Any, architecture: str, message: str
) -> None:
    assert entities.read_entities(answer, DOMAINS)  # each field reads well

    assert message in entities.entities_error(answer, DOMAINS, architecture)


@pytest.mark.parametrize("architecture", ["monolith", "microservices"])
def test_references_that_can_be_kept_are_taken(architecture: str) -> None:
    answer = {
        "orders": {"user": {"type": "ref", "to": "users", "on_delete": "cascade"}, "total": "decimal"},
        "products": {
            "order_id": {"type": "ref", "to": "orders", "optional": True, "on_delete": "set_null"},
            "user": {"type": "ref", "to": "users", "on_delete": "cascade"},
            "name": "string",
        },
    }  # fmt: skip

    assert entities.entities_error(answer, DOMAINS, architecture) == ""
    (user,) = entities.read_entities(answer, DOMAINS)["orders"].references
    assert (user.to, user.on_delete, user.optional) == ("users", "cascade", False)


# --- the values the generated tests will send -----------------------------------

EVERY_TYPE = {
    "users": {
        "handle": {"type": "string", "max_length": 12, "unique": True},
        "code": {"type": "string", "max_length": 6, "unique": True},
        "bio": {"type": "text", "max_length": 500, "optional": True},
        "email": {"type": "email", "unique": True},
        "site": {"type": "url", "optional": True},
        "age": {"type": "integer", "min": 18, "max": 150},
        "score": "integer",
        "balance": {"type": "decimal", "precision": 6, "scale": 2, "min": 0},
        "weight": {
            "type": "decimal",
            "precision": 5,
            "scale": 2,
            "min": "0.5",
            "max": 500,
        },
        "delta": {
            "type": "decimal",
            "precision": 3,
            "scale": 1,
            "min": "-5.5",
            "max": "12.5",
        },
        "active": "boolean",
        "born_on": "date",
        "seen_at": "datetime",
        "token": {"type": "uuid", "unique": True},
        "tier": {"type": "enum", "values": ["free", "unknown", "paid"]},
    },
    "orders": {"user": {"type": "ref", "to": "users"}},
}


def every_field() -> dict[str, Any]:
    read = fields(EVERY_TYPE)
    return {**read["users"], **read["orders"]}


def test_a_unique_field_has_a_different_example_for_each_item() -> None:
    for field in every_field().values():
        if field.unique:
            values = [entities.example(field, n) for n in range(12)]
            assert len(set(values)) == len(values), field.name


def test_the_examples_keep_each_rule() -> None:
    read = every_field()

    assert entities.example(read["handle"], 3) == "handle 3"
    # "code 1234" would not leave room for four digits in 6: the number alone.
    assert entities.example(read["code"], 3) == "3"
    assert entities.example(read["age"], 0) == 18
    assert entities.example(read["age"], 500) == 150
    assert entities.example(read["balance"], 1) == "1.00"
    # Datetimes as the API returns them, in UTC.
    assert entities.example(read["seen_at"], 1) == "2027-01-01T00:00:00Z"
    assert entities.example(read["born_on"], 1) == "2027-01-01"
    assert entities.example(read["user"], 0) is None


def test_the_edges_sit_on_each_limit() -> None:
    read = every_field()

    def edges(name: str) -> dict[str, Any]:
        return {sample.why: sample.value for sample in entities.edges(read[name])}

    assert edges("handle") == {"max_length": "x" * 12, "one character": "x"}
    assert edges("bio")["optional"] is None
    assert edges("bio")["max_length"] == "x" * 500
    assert edges("bio")["empty"] == ""
    assert edges("age") == {"min": 18, "max": 150}
    assert edges("balance") == {
        "min": "0.00",
        "precision": "9999.99",
        "fewer decimal places": "0",
    }
    # Taken, and returned as the column keeps it.
    (fewer,) = [s for s in entities.edges(read["balance"]) if s.why.startswith("fewer")]
    assert fewer.echo == "0.00"


def test_each_refusal_breaks_one_rule_just_past_its_limit() -> None:
    read = every_field()

    def refused(name: str) -> dict[str, Any]:
        return {sample.why: sample.value for sample in entities.refusals(read[name])}

    assert refused("handle")["longer than max_length"] == "x" * 13
    assert refused("handle")["required"] is None
    assert "required" not in refused("bio")
    assert refused("age")["below min"] == 17
    assert refused("age")["above max"] == 151
    # An integer without bounds has its column's.
    assert refused("score")["above the column's most"] == 2**31
    balance = refused("balance")
    assert balance["below min"] == "-0.01"
    assert balance["more than 2 decimal places"] == "0.001"
    assert balance["more than 4 digits before the point"] == "10000"
    # The enum lists "unknown": the refused value is not one of them.
    assert refused("tier")["not one of the values"] not in ("free", "unknown", "paid")
    assert refused("seen_at")["no UTC offset"] == "2026-01-01T09:30:00"
    assert refused("user")["not a UUID"] == "not-a-uuid"


# --- the request schemas accept exactly those values -------------------------------
#
# The request schema of a domain checks each field with the type that
# template/_partials/schema_fields.jinja spells: rendered here for every type, it must
# accept each example and edge, and refuse each refusal, as JSON the API would receive:
# as FastAPI does, the JSON is parsed first, then validated as Python values.

REPO = MODULE.parents[1]
SCHEMA_TYPES = """\
{% import 'template/_partials/schema_fields.jinja' as schema_fields -%}
{% for f in every %}
{% if schema_fields.has_alias(f) %}{{ schema_fields.alias_definition(f) }}{% endif %}
{{ f.name }}_type = {{ schema_fields.schema_type(m, f) }}{{ ' | None' if f.optional else '' }}
{% endfor %}
"""


def load_file(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def platform_fields() -> ModuleType:
    """The platform's http/fields.py, imported from its package as a service does."""
    http = REPO / "template" / "{{ platform_dir }}" / "http"
    spec = importlib.util.spec_from_file_location(
        "template_http", http / "__init__.py", submodule_search_locations=[str(http)]
    )
    assert spec is not None and spec.loader is not None
    sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    return importlib.import_module("template_http.fields")


def schema_types(every: list[Any]) -> dict[str, Any]:
    """The request schema's type of each field, as the template writes it."""
    names = load_file("template_names", REPO / "extensions" / "names.py")
    fields_module = platform_fields()
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(REPO), undefined=jinja2.StrictUndefined
    )
    environment.filters.update(
        pascal=names.pascal,
        quoted=names.quoted,
        example_source=entities.example_source,
    )
    source = environment.from_string(SCHEMA_TYPES).render(
        every=every, m={"Class": "User"}
    )
    namespace: dict[str, Any] = {
        name: getattr(pydantic, name)
        for name in (
            "AwareDatetime",
            "Field",
            "Strict",
            "StrictBool",
            "StrictInt",
            "StrictStr",
        )
    }
    tiers = [f for f in every if f.type == "enum"]
    namespace |= {
        "Annotated": Annotated,
        "Decimal": Decimal,
        "Integral": fields_module.Integral,
        "IsoDate": fields_module.IsoDate,
        "IsoDatetime": fields_module.IsoDatetime,
        "InUtc": fields_module.InUtc,
        "DecimalText": fields_module.DecimalText,
        "EmailText": fields_module.EmailText,
        "UrlText": fields_module.UrlText,
        "INTEGER_MIN": fields_module.INTEGER_MIN,
        "INTEGER_MAX": fields_module.INTEGER_MAX,
        "UUID": UUID,
        "date": date,
        "datetime": datetime,
        **{
            f"User{f.name.title()}": StrEnum("E", {v.upper(): v for v in f.values})
            for f in tiers
        },
    }
    exec(compile(source, "schema types", "exec"), namespace)  # noqa: S102
    return {f.name: namespace[f"{f.name}_type"] for f in every}


def test_the_request_schemas_take_the_examples_and_edges_and_refuse_the_rest() -> None:
    every = list(every_field().values())
    types = schema_types(every)

    for field in every:
        adapter = pydantic.TypeAdapter(types[field.name])
        accepted = [
            entities.Sample(entities.example(field, n), "example") for n in range(3)
        ]
        if field.type == "ref":
            accepted = [entities.Sample(str(UUID(int=7)), "example")]
        for sample in accepted + entities.edges(field):
            value = adapter.validate_python(json.loads(json.dumps(sample.value)))
            # As the API writes it back: a datetime in UTC, a decimal at its scale.
            assert adapter.dump_python(value, mode="json") == sample.echo, sample
        for sample in entities.refusals(field):
            with pytest.raises(pydantic.ValidationError):
                adapter.validate_python(json.loads(json.dumps(sample.value)))
                pytest.fail(f"{field.name}: {sample.why}: {sample.value!r} passed")


def test_a_decimals_schema_pattern_holds_its_bounds() -> None:
    """A decimal is JSON text: the OpenAPI document shows its bounds in its pattern,
    which takes exactly the values the schema does (clients and schemathesis
    generate requests from it)."""
    every = list(every_field().values())
    types = schema_types(every)

    for field in (f for f in every if f.type == "decimal"):
        adapter = pydantic.TypeAdapter(types[field.name])
        pattern = re.compile(adapter.json_schema()["pattern"])
        samples = entities.edges(field) + entities.refusals(field)
        texts = [s.value for s in samples if isinstance(s.value, str)]
        for text in texts:
            try:
                adapter.validate_python(text)
                taken = True
            except pydantic.ValidationError:
                taken = False
            assert bool(pattern.fullmatch(text)) == taken, (field.name, text)
    weight = pydantic.TypeAdapter(types["weight"])
    with pytest.raises(pydantic.ValidationError, match="greater than or equal to 0.50"):
        weight.validate_python("0.49")
    with pytest.raises(pydantic.ValidationError, match="less than or equal to 500.00"):
        weight.validate_python("500.01")


# --- the same values as the generated tests spell them ------------------------------


def test_a_unique_fields_series_is_spelt_as_its_examples() -> None:
    for field in every_field().values():
        if field.unique:
            source = entities.example_source(field, "n")
            for n in range(5):
                assert eval(source, {"n": n}) == entities.example(field, n), field.name


def test_each_value_a_test_sends_is_written_as_a_literal_of_itself() -> None:
    for field in every_field().values():
        for sample in entities.edges(field) + entities.refusals(field):
            source = entities.literal(sample.value)
            assert eval(source) == sample.value, (field.name, source)
    assert entities.literal("x" * 13) == '"x" * 13'
    assert entities.literal("nul\x00") == '"nul\\u0000"'


def test_a_use_case_takes_the_value_the_api_reads_from_the_json() -> None:
    """python_source(field, n) is what the request schema makes of example(field, n):
    the use-case tests and the API tests mean the same values."""
    every = [f for f in every_field().values() if f.type != "ref"]
    types = schema_types(every)
    namespace = {
        "Decimal": Decimal,
        "UTC": UTC,
        "UUID": UUID,
        "date": date,
        "datetime": datetime,
    }

    for field in every:
        enum_class = f"User{field.name.title()}"
        if field.type == "enum":
            namespace[enum_class] = types[field.name]
        for n in (0, 1, 3):
            spelt = entities.python_source(
                field, enum_class, "n" if field.unique else n
            )
            value = eval(spelt, {**namespace, "n": n})
            read = pydantic.TypeAdapter(types[field.name]).validate_python(
                json.loads(json.dumps(entities.example(field, n)))
            )
            assert value == read, (field.name, n, spelt)
    assert set(entities.python_imports(every)) == {"datetime", "decimal", "uuid"}


def test_the_plan_changes_and_filters_by_values_no_item_has() -> None:
    sample = entities.plan(entities.entity_of("users", {}).fields)
    assert sample.unique is not None and sample.unique.name == "name"
    assert (sample.change.name, sample.change_n) == ("description", 1)
    assert [(f.name, n) for f, n in sample.filters] == [("status", 1)]

    only_unique = fields({"users": {"code": {"type": "string", "unique": True}}})
    plan = entities.plan(list(only_unique["users"].values()))
    assert (plan.change.name, plan.change_n) == ("code", entities.FAR)

    one_value = fields(
        {"users": {"kind": {"type": "enum", "values": ["only"], "filter": True}}}
    )
    # A filter whose every item has the one value tells nothing apart: not tested.
    assert entities.plan(list(one_value["users"].values())).filters == ()


def test_the_integer_bounds_are_the_platforms() -> None:
    """The validator and the generated tests' edges hold an unbounded integer to the
    column's range, which the API's schemas take from the platform's fields.py."""
    fields_module = platform_fields()

    assert (fields_module.INTEGER_MIN, fields_module.INTEGER_MAX) == (
        entities.INTEGER_MIN,
        entities.INTEGER_MAX,
    )
