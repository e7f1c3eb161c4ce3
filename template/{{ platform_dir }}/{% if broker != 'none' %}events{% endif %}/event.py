"""What happened in a domain, as plain data that any service can read."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4


class InvalidEventError(ValueError):
    """A message that is not an event: it cannot be handled, however often it comes."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Event:
    """`type` names the domain and the fact (`users.deleted`); `data` is JSON-ready.

    `id` is what consumers deduplicate on: a redelivered event keeps it.
    """

    type: str
    data: dict[str, Any]
    id: UUID = field(default_factory=uuid4)
    occurred_at: datetime = field(default_factory=_now)

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": str(self.id),
                "type": self.type,
                "occurred_at": self.occurred_at.isoformat(),
                "data": self.data,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, body: str | bytes) -> Event:
        try:
            fields = json.loads(body)
        except ValueError as exc:
            raise InvalidEventError("the message is not JSON") from exc
        return cls.from_dict(fields)

    @classmethod
    def from_dict(cls, fields: Any) -> Event:
        if not isinstance(fields, dict):
            raise InvalidEventError("an event is a JSON object")
        try:
            event = cls(
                type=fields["type"],
                data=fields["data"],
                id=UUID(fields["id"]),
                occurred_at=datetime.fromisoformat(fields["occurred_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidEventError(f"not a valid event: {exc!r}") from exc
        if not isinstance(event.type, str) or not isinstance(event.data, dict):
            raise InvalidEventError("an event has a string type and an object of data")
        if event.occurred_at.tzinfo is None:
            raise InvalidEventError("occurred_at has no time zone")
        return event


EventHandler = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """`handler` receives every `event_type` event, at least once.

    `consumer` names the handler for good: it keys the broker's queue (or durable
    consumer, or group) and the record of the events it has handled, so renaming it
    starts afresh.
    """

    event_type: str
    consumer: str
    handler: EventHandler
