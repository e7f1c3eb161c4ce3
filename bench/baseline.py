"""A bare Starlette app serving fixed bytes captured from the generated service.

`run.py` writes the captured responses to a JSON file and points
BENCH_BASELINE_RESPONSES at it; this module serves each one at its path with the
same status, content type and body, and nothing else: no middleware, no
validation, no database. It is the ceiling the service is compared against.

Served as `uvicorn --factory baseline:create_app` (or granian) with bench/ on
PYTHONPATH, inside the generated project's venv, where Starlette is installed.
"""

from __future__ import annotations

import base64
import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _endpoint(status: int, body: bytes, media_type: str):  # type: ignore[no-untyped-def]
    async def endpoint(_: Request) -> Response:
        return Response(body, status_code=status, media_type=media_type)

    return endpoint


def create_app() -> Starlette:
    with open(os.environ["BENCH_BASELINE_RESPONSES"], encoding="utf-8") as handle:
        captured = json.load(handle)
    routes = [
        Route(
            item["path"],
            _endpoint(
                item["status"],
                base64.b64decode(item["body_b64"]),
                item["content_type"],
            ),
            methods=["GET"],
        )
        for item in captured
    ]
    return Starlette(routes=routes)
