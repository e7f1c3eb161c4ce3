"""The one table from error code to HTTP status, and the handlers that use it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from {{ package_name }}.shared.errors import DomainError, FieldProblem
from {{ package_name }}.shared.http.envelope import JSON, ErrorEnvelope

STATUS_BY_CODE: Mapping[str, int] = {
    "VALIDATION_ERROR": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "NOT_ACCEPTABLE": 406,
    "CONFLICT": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}
CODE_BY_STATUS: Mapping[int, str] = {
    status: code for code, status in STATUS_BY_CODE.items()
}

# Declared once on the app, so every operation documents the same error body.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorEnvelope, "description": code.replace("_", " ").lower()}
    for code, status in STATUS_BY_CODE.items()
    if status not in {405, 406, 415}
}


def error_response(
    status_code: int,
    code: str,
    message: str,
    request_id: str,
    details: Iterable[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": [{"field": d.field, "message": d.message} for d in details],
            "request_id": request_id,
        }
    }
    return Response(
        orjson.dumps(body),
        status_code=status_code,
        headers=dict(headers) if headers else None,
        media_type=JSON,
    )


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


async def on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status = STATUS_BY_CODE.get(exc.code, 500)
    return error_response(
        status, exc.code, exc.message, request_id_of(request), exc.details
    )


def _field(location: Iterable[int | str]) -> str:
    parts = [str(part) for part in location]
    # ("body", "name") -> "name"; a body that is not an object -> "body".
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [
        FieldProblem(_field(error.get("loc", ())), str(error.get("msg", "")))
        for error in exc.errors()
    ]
    return error_response(
        400, "VALIDATION_ERROR", "the request is invalid", request_id_of(request), details
    )


def allowed_methods(request: Request) -> list[str]:
    """Methods of every route matching the path (Starlette reports only the first)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = CODE_BY_STATUS.get(exc.status_code, "HTTP_ERROR")
    headers = dict(exc.headers or {})
    message = str(exc.detail) if exc.detail else code.replace("_", " ").lower()
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    if exc.status_code == 404:
        message = "no resource at this path"
    return error_response(
        exc.status_code, code, message, request_id_of(request), headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
