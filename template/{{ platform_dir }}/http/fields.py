"""Validators shared by the strict request schemas."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import (
    PydanticCustomError,
    PydanticKnownError,
    ValidationError,
    core_schema,
)

from .decimal_range import range_pattern


def _integral(value: Any) -> Any:
    # JSON has one number type: 3.0 is a valid "integer" in the schema; true is not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integral = BeforeValidator(_integral)
"""Put after a StrictInt's constraints: 3 and 3.0 pass; "3", true and 3.5 do not."""

# What an Integer column holds on every database (PostgreSQL's integer): an integer
# field without a min or a max is bounded by these.
INTEGER_MIN = -(2**31)
INTEGER_MAX = 2**31 - 1


def _text_like(pattern: str, what: str) -> BeforeValidator:
    shape = re.compile(pattern)

    def check(value: Any) -> Any:
        if value is not None and not (isinstance(value, str) and shape.match(value)):
            raise PydanticCustomError(
                "iso_8601", "Input should be {what}", {"what": what}
            )
        return value

    return BeforeValidator(check)


# Pydantic's lax mode reads a number (or text of one) as Unix time, and its strict
# mode takes no text at all from a parsed JSON body: dates and datetimes are
# ISO 8601 text, checked for their shape before pydantic parses them.
IsoDate = _text_like(r"^\d{4}-\d{2}-\d{2}$", "an ISO 8601 date, like 2026-01-31")
"""Before a date (a request field or a query parameter)."""

IsoDatetime = _text_like(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}",
    "an ISO 8601 datetime with its UTC offset, like 2026-01-31T09:30:00Z",
)
"""Before an AwareDatetime (a request field or a query parameter)."""


def _in_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


InUtc = AfterValidator(_in_utc)
"""After an AwareDatetime: the same instant in UTC, as it is stored and read back."""


def _count(most: int) -> str:
    return "{1," + str(most) + "}"


@dataclass(frozen=True)
class DecimalText:
    """A decimal sent as JSON text, which keeps every digit (a JSON number passes
    through a float in many clients): at most `digits` digits before the point and
    `places` after it, not negative unless `signed`, and from `minimum` to `maximum`
    when they are given. The value has exactly `places` decimal places, as its
    column stores and returns it ("1.5" is 1.50), and the schema shows the rules as
    the text's pattern."""

    digits: int
    places: int
    signed: bool = True
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    @property
    def pattern(self) -> str:
        """The texts of every value the field takes."""
        if self.minimum is None and self.maximum is None:
            return self._shape
        largest = Decimal(10) ** self.digits - self._step
        low = self.minimum if self.minimum is not None else -largest
        high = self.maximum if self.maximum is not None else largest
        if not self.signed:
            low = max(low, Decimal(0))
        return range_pattern(low, high, self.digits, self.places)

    @property
    def _step(self) -> Decimal:
        return Decimal(1).scaleb(-self.places)

    @property
    def _shape(self) -> str:
        # A decimal's text, its bounds aside. At most n digits: {1,n} in the pattern.
        whole = r"\d" + _count(self.digits) if self.digits else "0"
        fraction = r"(\.\d" + _count(self.places) + ")?" if self.places else ""
        signed = self.signed and (self.minimum is None or self.minimum < 0)
        return f"^{'-?' if signed else ''}{whole}{fraction}$"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        step = self._step
        low, high = (
            None if bound is None else bound.quantize(step)
            for bound in (self.minimum, self.maximum)
        )

        def parse(text: str) -> Decimal:
            value = Decimal(text).quantize(step)
            if low is not None and value < low:
                raise PydanticKnownError("greater_than_equal", {"ge": str(low)})
            if high is not None and value > high:
                raise PydanticKnownError("less_than_equal", {"le": str(high)})
            return value

        return core_schema.no_info_after_validator_function(
            parse,
            core_schema.str_schema(pattern=self._shape, strict=True),
            serialization=core_schema.to_string_ser_schema(),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The text's shape is checked by a pattern, and its bounds as a number: the
        # schema shows the pattern that holds both, since JSON Schema compares
        # only numbers with a minimum and a maximum.
        json_schema = handler(schema)
        if "pattern" in json_schema:
            json_schema["pattern"] = self.pattern
        return json_schema


# An email address as the HTML standard's email inputs accept it: what users type,
# without the comments and quoted local parts RFC 5322 also allows.
EMAIL_PATTERN = (
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)

# An http or https URL: the scheme, a host part, then the rest, none of it holding a
# space or a control character (C0, DEL or C1). The characters are named, not `\s`,
# which pydantic's regex engine reads wider than the OpenAPI document's readers do.
URL_PATTERN = r"^https?://[^\x00-\x20\x7f-\x9f/?#]+[^\x00-\x20\x7f-\x9f]*$"


@dataclass(frozen=True)
class _PatternText:
    """Text of at most `max_length` characters that matches `pattern`: the schema
    shows the pattern, and the error says what the text should be (`what`) rather
    than the pattern."""

    pattern: ClassVar[str]
    kind: ClassVar[str]
    what: ClassVar[str]
    max_length: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def check(value: Any, text: core_schema.ValidatorFunctionWrapHandler) -> Any:
            try:
                return text(value)
            except ValidationError as error:
                if any(e["type"] == "string_pattern_mismatch" for e in error.errors()):
                    raise PydanticCustomError(
                        self.kind, "Input should be {what}", {"what": self.what}
                    ) from None
                raise

        return core_schema.no_info_wrap_validator_function(
            check,
            core_schema.str_schema(
                pattern=self.pattern, max_length=self.max_length, strict=True
            ),
        )


@dataclass(frozen=True)
class EmailText(_PatternText):
    """An email address (EMAIL_PATTERN) of at most `max_length` characters."""

    pattern: ClassVar[str] = EMAIL_PATTERN
    kind: ClassVar[str] = "email"
    what: ClassVar[str] = "an email address"
    max_length: int = 320


@dataclass(frozen=True)
class UrlText(_PatternText):
    """An http or https URL (URL_PATTERN) of at most `max_length` characters."""

    pattern: ClassVar[str] = URL_PATTERN
    kind: ClassVar[str] = "url"
    what: ClassVar[str] = "an http or https URL"
    max_length: int = 2048
