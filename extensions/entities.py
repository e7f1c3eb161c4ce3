"""The answer `entities`: each domain's fields and relations, read into a model.

The syntax is a contract (DESIGN.md section 2, docs/questions.md): a field is
`name: type` or `name: {type: ..., modifiers}`. `read_entities` checks an answer and
returns what the templates render from; `entities_error` is its validator, an empty
string or a message that names the field and says why it cannot be.

Not wired into copier.yml yet: every domain renders `SAMPLE`, through the same
field loops that will render an answer's fields.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

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
    "unique": frozenset(TYPES) - {"boolean", "text"},
    "default": frozenset(TYPES) - {"date", "datetime", "uuid", "ref"},
    "min": frozenset({"integer", "decimal"}),
    "max": frozenset({"integer", "decimal"}),
    "max_length": frozenset({"string", "text", "email", "url"}),
    "precision": frozenset({"decimal"}),
    "scale": frozenset({"decimal"}),
    "values": frozenset({"enum"}),
    "to": frozenset({"ref"}),
    "on_delete": frozenset({"ref"}),
    "filter": frozenset(TYPES) - {"text"},
}
ON_DELETE = ("restrict", "set_null", "cascade")
# Columns every entity has already.
RESERVED = frozenset({"id", "version", "created_at", "updated_at", "owner_id"})
# Query parameters of every list route: a filter may not take their name.
LIST_PARAMETERS = frozenset({"page", "limit"})
# Without `precision` and `scale`, a decimal is a sum of money.
DEFAULT_PRECISION, DEFAULT_SCALE = 12, 2
MAX_PRECISION = 38
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


def entities_error(answer: Any, domains: Sequence[str]) -> str:
    """The validator of the answer `entities`."""
    try:
        read_entities(answer, domains)
    except EntityError as error:
        return str(error)
    return ""


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
            raise EntityError(f"{where}: {modifier} does not apply to a {kind}")
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
    return number


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
