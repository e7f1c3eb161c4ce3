"""The application services of a running app, looked up by type."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class ServiceRegistry:
    def __init__(self, *services: object) -> None:
        self._by_type = {type(service): service for service in services}

    def get(self, kind: type[T]) -> T:
        service = self._by_type[kind]
        assert isinstance(service, kind)
        return service
