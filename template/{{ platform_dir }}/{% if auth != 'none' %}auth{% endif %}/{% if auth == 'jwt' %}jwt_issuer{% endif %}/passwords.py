"""Password hashing with argon2id, off the event loop."""

from __future__ import annotations

import asyncio
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


class Passwords:
    """Hashes with argon2id at the library's defaults (which meet OWASP guidance).

    Each hash costs tens of milliseconds of CPU, so it runs in a worker thread
    (argon2 releases the GIL) instead of stalling every other request.
    """

    def __init__(self, hasher: Argon2Hasher | None = None) -> None:
        self._hash = PasswordHash((hasher or Argon2Hasher(),))
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Whether `password` matches, and a new hash when `hashed` is weaker
        than one made today."""
        await self._dummy()
        return await asyncio.to_thread(self._hash.verify_and_update, password, hashed)

    async def verify_nothing(self, password: str) -> None:
        """Spend the time of a real check, for callers who name no account.

        Without it, an unknown email would be answered faster than a wrong
        password, which tells an attacker which emails are registered.
        """
        await asyncio.to_thread(self._hash.verify, password, await self._dummy())

    async def _dummy(self) -> str:
        # Made on the first check of either kind, so that one costs the same too.
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        return self._dummy_hash
