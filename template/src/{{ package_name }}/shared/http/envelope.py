"""The response envelopes: success bodies and the one error body."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import orjson

from pydantic import BaseModel
from starlette.responses import Response

from {{ package_name }}.shared.pagination import Page

T = TypeVar("T")

JSON = "application/json"


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]
    request_id: str


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class Envelope(BaseModel, Generic[T]):
    data: T
    errors: list[ErrorDetail] = []


class ListMeta(BaseModel):
    page: int
    limit: int
    total: int


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    meta: ListMeta
    errors: list[ErrorDetail] = []


def _to_json(model: BaseModel) -> bytes:
    return model.__pydantic_serializer__.to_json(model)


def ok(
    data: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Wrap an already-validated schema; it is serialized exactly once."""
    body = b'{"data":' + _to_json(data) + b',"errors":[]}'
    return Response(body, status_code=status_code, headers=headers, media_type=JSON)


def ok_page(items: Sequence[BaseModel], page: Page[Any]) -> Response:
    meta = orjson.dumps(
        {"page": page.request.page, "limit": page.request.limit, "total": page.total}
    )
    data = b",".join(_to_json(item) for item in items)
    body = b'{"data":[' + data + b'],"meta":' + meta + b',"errors":[]}'
    return Response(body, media_type=JSON)
