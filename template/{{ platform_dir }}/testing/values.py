"""The values a service's tests send, named for what they test: a change, an edge of
a rule, a refusal. A service's tests/resources/ and its use-case tests spell them
from each entity's fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# An Edge's value that is not sent: the field is left out.
LEFT_OUT: Any = object()
# The `returned` of an Edge that comes back as it was sent.
AS_SENT: Any = object()


@dataclass(frozen=True)
class Value:
    """A value of one field: a change a test makes, or what a filter looks for."""

    field: str
    value: Any

    @property
    def id(self) -> str:
        return self.field


@dataclass(frozen=True)
class Edge:
    """A value on the edge of one of a field's rules, which the API takes; it
    returns `returned` (a datetime comes back in UTC), or the value as sent."""

    field: str
    value: Any
    why: str
    returned: Any = AS_SENT

    @property
    def id(self) -> str:
        return f"{self.field}: {self.why}"

    def applied_to(self, body: dict[str, Any]) -> dict[str, Any]:
        """`body` with this value, or without the field for LEFT_OUT."""
        if self.value is LEFT_OUT:
            return {k: v for k, v in body.items() if k != self.field}
        return {**body, self.field: self.value}

    def echo(self) -> Any:
        return self.value if self.returned is AS_SENT else self.returned


@dataclass(frozen=True)
class Refusal:
    """A value just past one of a field's rules, which the API refuses."""

    field: str
    value: Any
    why: str

    @property
    def id(self) -> str:
        return f"{self.field}: {self.why}"
