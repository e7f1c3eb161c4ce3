"""The app's routes as one flat table, for 405 `Allow` headers and for docs checks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope


class RouteTable:
    """Every operation of the given routers (each router's paths are absolute)."""

    def __init__(self, routers: Iterable[APIRouter]) -> None:
        self.routes = [
            route
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
        ]

    def endpoints(self) -> set[tuple[str, str]]:
        return {
            (method, route.path)
            for route in self.routes
            for method in route.methods or ()
        }

    def allowed_methods(self, scope: Scope) -> list[str]:
        """Methods of every route matching the path (Starlette names only the first)."""
        methods: set[str] = set()
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                methods.update(route.methods or ())
        return sorted(methods)


def dependencies(route: APIRoute) -> Iterator[Callable[..., Any]]:
    """What FastAPI calls before the endpoint of `route`, sub-dependencies too."""
    yield from _calls(route.dependant)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)
