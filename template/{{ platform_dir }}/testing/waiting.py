"""Waiting in a test for an effect that comes later: a message heard, a cache
invalidated, a logout reaching another instance."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout_s: float = 20.0
) -> T:
    """The first truthy result of `probe`, polled until `timeout_s` runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = await probe()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"nothing came within {timeout_s:g} s")
        await asyncio.sleep(0.05)
