"""The unit-of-work port: use cases open one, work, and commit or leave."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self, TypeVar

R_co = TypeVar("R_co", covariant=True)


class UnitOfWork(Protocol[R_co]):
    @property
    def repository(self) -> R_co: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
