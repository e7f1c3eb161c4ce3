"""The application services of a running app, looked up by type."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class ServiceRegistry:
    def __init__(self, *services: object) -> None:
        self._by_type: dict[type, object] = {}
        for service in services:
            self.add(service)

    def add(self, service: object) -> None:
        """Register `service` under its own class; one service per class."""
        kind = type(service)
        if kind in self._by_type:
            raise ValueError(f"a {kind.__name__} is registered already")
        self._by_type[kind] = service

    def get(self, kind: type[T]) -> T:
        try:
            service = self._by_type[kind]
        except KeyError:
            raise LookupError(
                f"no {kind.__name__} is registered: does the service's wiring add one?"
            ) from None
        assert isinstance(service, kind)
        return service
