"""FastAPI alone: the list route's shape, answering bytes the service answered.

The route takes what the generated list route takes: a service found on the app
state, the `page` and `limit` query parameters (bounded) and an optional status
filter. It does nothing else: no middleware, no auth, no cache, no database, no
serialization. Its ratio is the most any FastAPI service with that route can
reach on this machine; `run.py` measures it as the `fastapi-list` reference.

Served as `uvicorn --factory ceiling:create_app` with bench/ on PYTHONPATH and
BENCH_CEILING_BODY naming a file with the body, inside a generated project's venv.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request
from starlette.responses import Response


class Status(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Service:
    pass


async def service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found


async def page_request(
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> tuple[int, int]:
    return page, limit


def create_app() -> FastAPI:
    with open(os.environ["BENCH_CEILING_BODY"], "rb") as handle:
        body = handle.read()
    app = FastAPI()
    app.state.service = Service()

    @app.get("/health/live")
    async def live() -> Response:
        # What run.py waits for before it loads a server.
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/api/v1/users")
    async def list_users(
        _: Annotated[Service, Depends(service)],
        __: Annotated[tuple[int, int], Depends(page_request)],
        status: Annotated[Status | None, Query()] = None,
    ) -> Response:
        return Response(body, media_type="application/json")

    return app
