"""The answer `entities`: each domain's fields and relations, read into a model.

The syntax is a contract (DESIGN.md section 2, docs/questions.md): a field is
`name: type` or `name: {type: ..., modifiers}`. `read_entities` checks an answer and
returns what the templates render from; `entities_error` is its validator, an empty
string or a message that names the field and says why it cannot be.

`example`, `edges` and `refusals` give the JSON values the generated tests send for a
field: valid ones (different for each item of a unique field), those on the edge of
each rule, and those just past it.

`EntityFilters` gives the templates the test values, as Python source, and the
validator.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from jinja2.ext import Extension

TYPES = (
    "string",
    "text",
    "integer",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "uuid",
    "email",
    "url",
    "enum",
    "ref",
)
# What each modifier applies to; `None`: every type.
MODIFIERS: Mapping[str, frozenset[str] | None] = {
    "type": None,
    "optional": None,
    # An enum or a boolean has too few values to tell items apart; a unique ref
    # (one to one) is not generated.
    "unique": frozenset(TYPES) - {"boolean", "text", "enum", "ref"},
    "default": frozenset(TYPES) - {"date", "datetime", "uuid", "ref"},
    "min": frozenset({"integer", "decimal"}),
    "max": frozenset({"integer", "decimal"}),
    "max_length": frozenset({"string", "text", "email", "url"}),
    "precision": frozenset({"decimal"}),
    "scale": frozenset({"decimal"}),
    "values": frozenset({"enum"}),
    "to": frozenset({"ref"}),
    "on_delete": frozenset({"ref"}),
    # A ref's filter is its nested route: /api/v1/<to>/{id}/<domain>.
    "filter": frozenset(TYPES) - {"text", "ref"},
}
ON_DELETE = ("restrict", "set_null", "cascade")
# Columns every entity has already.
RESERVED = frozenset({"id", "version", "created_at", "updated_at", "owner_id"})
# Names the generated code gives something else where a field's name goes: the
# entity's `change(self, now, ...)`, the parameters and variables of a route
# function, and the attributes of a Pydantic model (a request or response schema),
# whose own names start with `model_` too.
TAKEN = {
    "self": "the entity's methods",
    "now": "the entity's change()",
    "change": "the entity's change()",
    **dict.fromkeys(
        ("actor", "body", "changes", "filters", "item_id", "service"),
        "a route function",
    ),
    **dict.fromkeys(
        (
            "construct",
            "copy",
            "dict",
            "from_orm",
            "json",
            "parse_file",
            "parse_obj",
            "parse_raw",
            "schema",
            "schema_json",
            "update_forward_refs",
            "validate",
        ),
        "a Pydantic model",
    ),
}
# Parameters of every list route: a filter may not take their name.
LIST_PARAMETERS = frozenset({"page", "limit", "service", "actor"})
# Without `precision` and `scale`, a decimal is a sum of money.
DEFAULT_PRECISION, DEFAULT_SCALE = 12, 2
MAX_PRECISION = 38
# What an integer column holds (PostgreSQL's integer): the bounds of an integer
# field without min or max, and the most a min or a max may be (the platform's
# http/fields.py holds the same; a test compares them).
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1
# String lengths without `max_length`.
DEFAULT_MAX_LENGTH = {"string": 200, "email": 320, "url": 2048}

IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
NO_DEFAULT = object()


class EntityError(ValueError):
    """An answer that cannot be rendered; the message names the field."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    optional: bool = False
    unique: bool = False
    default: Any = NO_DEFAULT
    min: int | Decimal | None = None
    max: int | Decimal | None = None
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    values: tuple[str, ...] = ()
    to: str | None = None
    on_delete: str | None = None
    filter: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True)
class Entity:
    domain: str
    fields: tuple[Field, ...]

    @property
    def references(self) -> tuple[Field, ...]:
        return tuple(field for field in self.fields if field.type == "ref")


# The entity of a domain that `entities` leaves out: the sample every domain had
# before the answer existed.
SAMPLE: Mapping[str, Any] = {
    "name": {"type": "string", "max_length": 200, "unique": True},
    "description": {"type": "text", "max_length": 2000, "default": ""},
    "status": {
        "type": "enum",
        "values": ["active", "archived"],
        "default": "active",
        "filter": True,
    },
}


def entity_of(domain: str, entities: Mapping[str, Entity]) -> Entity:
    """The entity `domain` renders: the one the answer gives, else the sample."""
    return entities.get(domain) or _entity(domain, SAMPLE, [domain])


def read_entities(answer: Any, domains: Sequence[str]) -> dict[str, Entity]:
    """The entities of `answer`, by domain; a domain it leaves out is not there (it
    keeps the sample fields). Raises EntityError for what cannot be rendered."""
    if answer is None or answer == {}:
        return {}
    if not isinstance(answer, Mapping):
        raise EntityError("entities is a mapping of domain names to their fields")
    entities = {}
    for domain, fields in answer.items():
        if domain not in domains:
            raise EntityError(
                f"entities.{domain}: not a domain; the domains are "
                + ", ".join(domains)
            )
        entities[domain] = _entity(domain, fields, domains)
    return entities


def entities_error(answer: Any, domains: Any, architecture: Any = None) -> str:
    """The validator of the answer `entities`: also refuses what this release does
    not render yet, and relations the `architecture` cannot keep."""
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        return ""  # the answer `domains` says what is wrong with it
    try:
        entities = read_entities(answer, domains)
    except EntityError as error:
        return str(error)
    for entity in entities.values():
        if all(field.type == "ref" for field in entity.fields):
            return (
                f"entities.{entity.domain}: give it a field besides its references"
                " (its generated tests change one; an entity of references only is"
                " not generated yet)"
            )
    if (
        architecture == "microservices"
        and len(domains) > 1
        and domains[1] in entities
        and not any(entity.references for entity in entities.values())
    ):
        return (
            "entities: give one of the services a ref to another's items (or leave"
            f" {domains[1]} out, to keep the sample relation): the system tests run"
            " two related services together (a system of unrelated services is not"
            " generated yet)"
        )
    return _relations_error(entities, architecture)


def _relations_error(entities: Mapping[str, Entity], architecture: Any) -> str:
    targets: dict[str, set[str]] = {}
    for entity in entities.values():
        for field in entity.references:
            where = f"entities.{entity.domain}.{field.name}"
            assert field.to is not None
            if architecture == "microservices" and field.on_delete == "restrict":
                return (
                    f"{where}: {field.to} live in a service of their own, whose"
                    f" database cannot refuse a delete for {entity.domain}; choose"
                    " on_delete: cascade, or set_null with optional: true (the"
                    f" {entity.domain} service follows the deletion events)"
                )
            if field.to in targets.setdefault(entity.domain, set()):
                return (
                    f"{where}: {entity.domain} refer to {field.to} once already;"
                    " a second reference would share its nested route"
                )
            targets[entity.domain].add(field.to)
    cycle = _cycle(targets)
    if cycle:
        return (
            "entities: "
            + " -> ".join(cycle)
            + " refer to each other in a circle; one of them has to give way"
        )
    return ""


def _cycle(targets: Mapping[str, set[str]]) -> list[str]:
    """A path of references that comes back to where it started, if there is one."""
    done: set[str] = set()

    def visit(domain: str, path: list[str]) -> list[str]:
        if domain in path:
            return [*path[path.index(domain) :], domain]
        if domain in done:
            return []
        for target in sorted(targets.get(domain, ())):
            found = visit(target, [*path, domain])
            if found:
                return found
        done.add(domain)
        return []

    for domain in sorted(targets):
        found = visit(domain, [])
        if found:
            return found
    return []


def _entity(domain: str, fields: Any, domains: Sequence[str]) -> Entity:
    where = f"entities.{domain}"
    if not isinstance(fields, Mapping) or not fields:
        raise EntityError(f"{where}: give its fields, as a mapping of name to type")
    return Entity(
        domain,
        tuple(
            _field(f"{where}.{name}", name, spec, domain, domains)
            for name, spec in fields.items()
        ),
    )


def _field(
    where: str, name: Any, spec: Any, domain: str, domains: Sequence[str]
) -> Field:
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise EntityError(f"{where}: a field name is snake_case, like display_name")
    if name in RESERVED:
        raise EntityError(
            f"{where}: every entity has {name} already (reserved: "
            + ", ".join(sorted(RESERVED))
            + ")"
        )
    if name in TAKEN or name.startswith("model_"):
        raise EntityError(
            f"{where}: {TAKEN.get(name, 'a Pydantic model')} uses the name {name};"
            " rename the field"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise EntityError(f"{where}: '{name}' is a Python keyword; rename the field")
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise EntityError(f"{where}: give a type, as `{name}: string` or with `type:`")
    kind = spec["type"]
    if kind not in TYPES:
        raise EntityError(f"{where}: unknown type {kind!r}; types: " + ", ".join(TYPES))
    for modifier in spec:
        applies = MODIFIERS.get(modifier, frozenset())
        if modifier not in MODIFIERS:
            raise EntityError(
                f"{where}: unknown modifier {modifier!r}; modifiers: "
                + ", ".join(m for m in MODIFIERS if m != "type")
            )
        if applies is not None and kind not in applies:
            article = "an" if kind[0] in "aeiou" else "a"
            raise EntityError(f"{where}: {modifier} does not apply to {article} {kind}")
    filtered = _flag(where, spec, "filter")
    if filtered and name in LIST_PARAMETERS:
        raise EntityError(
            f"{where}: a filter named {name} would clash with the list's own {name}"
        )
    field = Field(
        name=name,
        type=kind,
        optional=_flag(where, spec, "optional"),
        unique=_flag(where, spec, "unique"),
        filter=filtered,
        **_limits(where, kind, spec),
    )
    if kind == "enum":
        field = _enum(where, field, spec)
    if kind == "ref":
        field = _reference(where, field, spec, domain, domains)
    if "default" in spec:
        field = _with_default(where, field, spec["default"])
    return field


def _flag(where: str, spec: Mapping[str, Any], flag: str) -> bool:
    value = spec.get(flag, False)
    if not isinstance(value, bool):
        raise EntityError(f"{where}: {flag} is true or false")
    return value


def _limits(where: str, kind: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    if kind in ("string", "email", "url") or "max_length" in spec:
        length = spec.get("max_length", DEFAULT_MAX_LENGTH.get(kind))
        if length is not None and (
            isinstance(length, bool) or not isinstance(length, int) or length < 1
        ):
            raise EntityError(f"{where}: max_length is a whole number, at least 1")
        limits["max_length"] = length
    if kind == "decimal":
        precision = spec.get("precision", DEFAULT_PRECISION)
        scale = spec.get("scale", DEFAULT_SCALE)
        if not _whole(precision) or not 1 <= precision <= MAX_PRECISION:
            raise EntityError(
                f"{where}: precision is a whole number from 1 to {MAX_PRECISION}"
            )
        if not _whole(scale) or not 0 <= scale <= precision:
            raise EntityError(
                f"{where}: scale is a whole number from 0 to the precision ({precision})"
            )
        limits |= {"precision": precision, "scale": scale}
    for bound in ("min", "max"):
        if bound in spec:
            limits[bound] = _number(f"{where}: {bound}", kind, spec[bound])
            if kind == "decimal":
                _fits(f"{where}: {bound}", limits[bound], precision, scale)
    if kind == "integer":
        for bound in ("min", "max"):
            if not INTEGER_MIN <= limits.get(bound, 0) <= INTEGER_MAX:
                raise EntityError(
                    f"{where}: {bound} is beyond what an integer column holds"
                    f" ({INTEGER_MIN} to {INTEGER_MAX})"
                )
    low, high = limits.get("min"), limits.get("max")
    if low is not None and high is not None and low > high:
        raise EntityError(f"{where}: min is above max")
    return limits


def _enum(where: str, field: Field, spec: Mapping[str, Any]) -> Field:
    values = spec.get("values")
    if not isinstance(values, list) or not values:
        raise EntityError(f"{where}: an enum lists its values, e.g. [draft, sent]")
    for value in values:
        if not isinstance(value, str) or not IDENTIFIER.match(value):
            raise EntityError(f"{where}: the value {value!r} is not snake_case")
    if len(set(values)) != len(values):
        raise EntityError(f"{where}: a value is listed twice")
    return _replace(field, values=tuple(values))


def _reference(
    where: str,
    field: Field,
    spec: Mapping[str, Any],
    domain: str,
    domains: Sequence[str],
) -> Field:
    target = spec.get("to")
    if target not in domains:
        raise EntityError(
            f"{where}: a ref names the domain it points to with `to:` (one of "
            + ", ".join(domains)
            + ")"
        )
    if target == domain:
        raise EntityError(f"{where}: a reference to its own domain is not supported")
    on_delete = spec.get("on_delete", "restrict")
    if on_delete not in ON_DELETE:
        raise EntityError(f"{where}: on_delete is one of " + ", ".join(ON_DELETE))
    if on_delete == "set_null" and not field.optional:
        raise EntityError(f"{where}: on_delete set_null needs optional: true")
    return _replace(field, to=target, on_delete=on_delete)


def _with_default(where: str, field: Field, value: Any) -> Field:
    kind = field.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise EntityError(f"{where}: the default of a boolean is true or false")
    elif kind in ("integer", "decimal"):
        value = _number(f"{where}: the default", kind, value)
        if kind == "decimal":
            assert field.precision is not None and field.scale is not None
            _fits(f"{where}: the default", value, field.precision, field.scale)
            # As the column returns it: "1.5" is stored as 1.50.
            value = Decimal(value).quantize(_step(field))
        if field.min is not None and value < field.min:
            raise EntityError(f"{where}: the default is below min")
        if field.max is not None and value > field.max:
            raise EntityError(f"{where}: the default is above max")
    elif kind == "enum":
        if value not in field.values:
            raise EntityError(f"{where}: the default is not one of the values")
    else:
        if not isinstance(value, str):
            raise EntityError(f"{where}: the default of a {kind} is a string")
        if field.max_length is not None and len(value) > field.max_length:
            raise EntityError(f"{where}: the default is longer than max_length")
    return _replace(field, default=value)


def _number(where: str, kind: str, value: Any) -> int | Decimal:
    if kind == "integer":
        if not _whole(value):
            raise EntityError(f"{where} of an integer is a whole number")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise EntityError(f"{where} of a decimal is a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise EntityError(f"{where} of a decimal is a number") from None
    if not number.is_finite():
        raise EntityError(f"{where} of a decimal is a finite number")
    return Decimal(f"{number:f}")  # 1e3 as 1000: the generated code writes it so


def _fits(where: str, number: int | Decimal, precision: int, scale: int) -> None:
    """Refuse a decimal that its column cannot hold exactly."""
    exponent = Decimal(number).as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > scale:
        raise EntityError(f"{where} has more than {scale} decimal places (scale)")
    if abs(Decimal(number)) >= Decimal(10) ** (precision - scale):
        raise EntityError(
            f"{where} has more than {precision - scale} digits before the point"
        )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _replace(field: Field, **changes: Any) -> Field:
    return Field(**{**field.__dict__, **changes})


# --- values the generated tests send -----------------------------------------------
#
# A request carries each field as JSON: strings for text, email, url, uuid, enum, ref,
# date (ISO 8601) and datetime (ISO 8601 with its offset: a datetime without one is
# refused), JSON numbers for integers, and strings for decimals, which keep every digit
# that way (a JSON number would pass through a float in many clients).


SAME = object()


@dataclass(frozen=True)
class Sample:
    """A JSON value of a field, the rule it is there for, and for a value the API
    takes, how the API returns it when that is not the same."""

    value: Any
    why: str
    returned: Any = SAME

    @property
    def echo(self) -> Any:
        return self.value if self.returned is SAME else self.returned


FIRST_YEAR = 2026


def example(field: Field, n: int = 0) -> Any:
    """A JSON value the API accepts for `field`, the `n`th of a series of different
    ones (a unique field needs one per item). None for a ref: the item it points to
    has to exist first. `example_source` spells the series in Python."""
    kind = field.type
    if kind in ("string", "text"):
        return f"{_label(field)}{n}"
    if kind == "email":
        return f"user{n}@example.com"
    if kind == "url":
        return f"https://example.com/{n}"
    if kind in ("integer", "decimal"):
        number = _within(field, _lowest_whole(field) + n)
        return int(number) if kind == "integer" else _decimal(field, number)
    if kind == "boolean":
        return n % 2 == 0
    if kind == "date":
        return date(FIRST_YEAR + n, 1, 1).isoformat()
    if kind == "datetime":
        # As the API returns it: in UTC, written Z.
        return f"{FIRST_YEAR + n}-01-01T00:00:00Z"
    if kind == "uuid":
        return str(UUID(int=n + 1))
    if kind == "enum":
        return field.values[n % len(field.values)]
    return None


def edges(field: Field) -> list[Sample]:
    """JSON values at the edge of each rule of `field`, which the API accepts."""
    samples = [Sample(None, "optional")] if field.optional else []
    if field.type in ("string", "text") and field.max_length is not None:
        samples.append(Sample("x" * field.max_length, "max_length"))
    if field.type == "string":
        samples.append(Sample("x", "one character"))
    if field.type == "text":
        samples += [Sample("", "empty"), Sample("two\nlines\tand a tab", "whitespace")]
    if field.type == "integer":
        samples += [Sample(bound, why) for bound, why in _integer_bounds(field)]
    if field.type == "decimal":
        for bound, why in ((field.min, "min"), (field.max, "max")):
            if bound is not None:
                samples.append(Sample(_decimal(field, bound), why))
    if field.type == "decimal":
        assert field.precision is not None and field.scale is not None
        if field.max is None:
            largest = Decimal(10) ** (field.precision - field.scale) - _step(field)
            samples.append(Sample(_decimal(field, largest), "precision"))
        if field.scale:
            stored = example(field, 0)
            fewer = f"{Decimal(stored).normalize():f}"
            if fewer != stored:
                samples.append(Sample(fewer, "fewer decimal places", stored))
    if field.type == "datetime":
        samples.append(
            Sample(
                "2026-01-01T09:30:00+02:00", "another offset", "2026-01-01T07:30:00Z"
            )
        )
    return samples


def refusals(field: Field) -> list[Sample]:
    """JSON values the API refuses for `field`, each breaking one of its rules."""
    kind = field.type
    samples = [] if field.optional else [Sample(None, "required")]
    if kind in ("string", "text", "email", "url", "enum", "uuid", "ref", "date"):
        samples.append(Sample(1, "not a string"))
    if kind in ("string", "text") and field.max_length is not None:
        samples.append(Sample("x" * (field.max_length + 1), "longer than max_length"))
    if kind == "string":
        samples += [Sample("", "empty"), Sample("tab\there", "a control character")]
    if kind == "text":
        samples.append(Sample("nul\x00", "a NUL character"))
    if kind == "email":
        samples.append(Sample("user.example.com", "not an email address"))
    if kind == "url":
        samples.append(Sample("example.com/page", "not an http(s) URL"))
        samples.append(Sample("https://example.com/a page", "a space"))
        samples.append(Sample("https://example.com/\x85", "a control character"))
    if kind == "integer":
        samples += [Sample(1.5, "not whole"), Sample("1", "a string")]
    if kind in ("integer", "decimal"):
        samples.append(Sample(True, "a boolean"))
    if kind == "integer":
        (low, low_why), (high, high_why) = _integer_bounds(field)
        samples += [
            Sample(low - 1, f"below {low_why}"),
            Sample(high + 1, f"above {high_why}"),
        ]
    if kind == "decimal":
        step = _step(field)
        for bound, why, beyond in (
            (field.min, "below min", -step),
            (field.max, "above max", step),
        ):
            if bound is not None:
                samples.append(Sample(str(Decimal(bound) + beyond), why))
    if kind == "decimal":
        assert field.precision is not None and field.scale is not None
        samples += [
            Sample(1, "a JSON number, not text"),
            Sample("abc", "not a number"),
            Sample(str(_step(field) / 10), f"more than {field.scale} decimal places"),
        ]
        if field.max is None:  # else the max is the limit
            samples.append(
                Sample(
                    str(Decimal(10) ** (field.precision - field.scale)),
                    f"more than {field.precision - field.scale} digits before the"
                    " point",
                )
            )
    if kind == "boolean":
        samples += [Sample("true", "a string"), Sample(1, "a number")]
    if kind == "date":
        samples += [Sample("2026-02-30", "no such day"), Sample("soon", "not a date")]
    if kind == "datetime":
        samples += [
            Sample("2026-01-01T09:30:00", "no UTC offset"),
            Sample("soon", "not a datetime"),
        ]
    if kind in ("uuid", "ref"):
        samples.append(Sample("not-a-uuid", "not a UUID"))
    if kind == "enum":
        samples.append(Sample(_missing_value(field.values), "not one of the values"))
    return samples


def _label(field: Field) -> str:
    """What a text example starts with, before its number: the field's name, unless
    that leaves too little room for the number within `max_length`."""
    label = field.name.replace("_", " ") + " "
    if field.max_length is not None and len(label) + 4 > field.max_length:
        return ""
    return label


def _lowest_whole(field: Field) -> Decimal:
    """The smallest whole number a number field takes, or 0 without a min."""
    low = Decimal(field.min or 0)
    return low.to_integral_value(rounding=ROUND_CEILING)


def _integer_bounds(field: Field) -> list[tuple[int, str]]:
    """The least and the most an integer field takes, and why."""
    return [
        (
            (int(field.min), "min")
            if field.min is not None
            else (INTEGER_MIN, "the column's least")
        ),
        (
            (int(field.max), "max")
            if field.max is not None
            else (INTEGER_MAX, "the column's most")
        ),
    ]


def _step(field: Field) -> Decimal:
    """The smallest difference a decimal field can hold."""
    return Decimal(1).scaleb(-(field.scale or 0))


def _within(field: Field, number: Decimal) -> Decimal:
    if field.max is not None and number > field.max:
        return Decimal(field.max)
    return number


def _decimal(field: Field, number: int | Decimal) -> str:
    return str(Decimal(number).quantize(_step(field)))


def _missing_value(values: Sequence[str]) -> str:
    candidate = "unknown"
    while candidate in values:
        candidate += "_value"
    return candidate


# --- the same values, as the Python source of the generated tests ------------------
#
# A generated test module spells its domain's values: a JSON body for a new item
# (a unique field's value an expression of the item's number `n`), the
# matching use-case input, each edge and each refusal.

# The number of the example a change or a filter sets a unique field to: far past
# the items a test creates, so that it takes no other item's value.
FAR = 1000


def literal(value: Any) -> str:
    """The JSON value `value` as a Python literal, as the formatters write it."""
    if isinstance(value, str):
        if len(value) > 12 and value == value[0] * len(value):
            return f"{json.dumps(value[0])} * {len(value)}"
        return json.dumps(value)
    return repr(value)


def example_source(field: Field, n: int | str = 0) -> str:
    """The source of `example(field, n)`; with `n` a variable's name, an expression
    of it that gives the series of a unique field."""
    if isinstance(n, int):
        return literal(example(field, n))
    kind = field.type
    if kind in ("string", "text"):
        return f'f"{_label(field)}{{{n}}}"'
    if kind == "email":
        return f'f"user{{{n}}}@example.com"'
    if kind == "url":
        return f'f"https://example.com/{{{n}}}"'
    if kind == "integer":
        return _plus(n, int(_lowest_whole(field)))
    if kind == "decimal":
        places = "." + "0" * field.scale if field.scale else ""
        return f'f"{{{_plus(n, int(_lowest_whole(field)))}}}{places}"'
    if kind == "date":
        return f'f"{{{_plus(n, FIRST_YEAR)}}}-01-01"'
    if kind == "datetime":
        return f'f"{{{_plus(n, FIRST_YEAR)}}}-01-01T00:00:00Z"'
    if kind == "uuid":
        return f'f"00000000-0000-0000-0000-{{{_plus(n, 1)}:012x}}"'
    raise ValueError(f"{field.name}: a {kind} has no series of examples")


def python_source(field: Field, enum_class: str, n: int | str = 0) -> str:
    """The source of the value a use case takes for `example(field, n)`: an enum
    member of `enum_class`, a Decimal, a date... (names `python_imports` lists)."""
    kind = field.type
    if kind == "enum":
        return f"{enum_class}.{str(example(field, int(n))).upper()}"
    if kind == "decimal":
        return f"Decimal({example_source(field, n)})"
    year = _plus(n, FIRST_YEAR) if isinstance(n, str) else str(FIRST_YEAR + n)
    if kind == "date":
        return f"date({year}, 1, 1)"
    if kind == "datetime":
        return f"datetime({year}, 1, 1, tzinfo=UTC)"
    if kind == "uuid":
        return f"UUID(int={_plus(n, 1) if isinstance(n, str) else n + 1})"
    return example_source(field, n)


def python_imports(
    fields: Sequence[Field], annotations: bool = False
) -> dict[str, list[str]]:
    """What `python_source` of `fields` needs imported, by module; with
    `annotations`, what their types as annotations need."""
    kinds = {field.type for field in fields}
    if annotations and "ref" in kinds:
        kinds.add("uuid")
    imports: dict[str, list[str]] = {}
    if "decimal" in kinds:
        imports["decimal"] = ["Decimal"]
    when = [
        name
        for name, kind in (("UTC", "datetime"), ("date", "date"))
        if kind in kinds and not (annotations and name == "UTC")
    ]
    if "datetime" in kinds:
        when.append("datetime")
    if when:
        imports["datetime"] = when
    if "uuid" in kinds:
        imports["uuid"] = ["UUID"]
    return imports


@dataclass(frozen=True)
class Plan:
    """What an entity's generated tests change, look up and filter by.

    - `unique`: the field the conflict tests share between two items, if any;
    - `change`: the field a change sets, to `example(change, change_n)`, which no
      item of a test has (for any entity: every field is required to be settable);
    - `filters`: each filter field, with the number of an example no item has.
    """

    unique: Field | None
    change: Field
    change_n: int
    filters: tuple[tuple[Field, int], ...]


def plan(entity_fields: Sequence[Field]) -> Plan:
    candidates = [field for field in entity_fields if field.type != "ref"]
    unique = next((field for field in candidates if field.unique), None)

    def other(field: Field) -> int | None:
        if field.unique:
            return FAR
        return 1 if example(field, 1) != example(field, 0) else None

    changeable = [f for f in candidates if not f.unique and other(f) is not None]
    change = (changeable or candidates)[0]
    filters = tuple(
        (field, n)
        for field in candidates
        if field.filter and (n := other(field)) is not None
    )
    return Plan(unique, change, other(change) or 0, filters)


def _plus(name: str, number: int) -> str:
    if number == 0:
        return name
    return f"{name} + {number}" if number > 0 else f"{name} - {-number}"


def rules(field: Field, owned: bool) -> str:
    """A field's rules in words, as the architecture document lists them; `owned`:
    the items have owners (auth is on), so a unique value is unique per owner."""
    if field.optional:
        found = ["optional"]
    elif field.has_default:
        default = str(field.default) if field.type == "decimal" else field.default
        found = [f"default `{json.dumps(default)}`"]
    else:
        found = ["required"]
    if field.unique:
        found.append("unique per owner" if owned else "unique")
    if field.max_length:
        found.append(f"at most {field.max_length} characters")
    if field.min is not None:
        found.append(f"min {field.min}")
    if field.max is not None:
        found.append(f"max {field.max}")
    if field.type == "decimal":
        found.append(f"precision {field.precision}, scale {field.scale}")
    if field.values:
        found.append("one of `" + "`, `".join(field.values) + "`")
    if field.filter:
        found.append("a list filter")
    return "; ".join(found)


class EntityFilters(Extension):
    """The generated tests' values, as Jinja filters: `f | example_source('n')`,
    `f | python_source(enum_class)`, `fields | plan`, `f | edges`..."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters.update(
            {
                "example_source": example_source,
                "python_source": python_source,
                "python_imports": python_imports,
                "literal": literal,
                "plan": plan,
                "edges": edges,
                "refusals": refusals,
                "entities_error": entities_error,
                "rules": rules,
            }
        )
