"""The key format, `<prefix>_<id>_<secret>`, and how a secret is stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Self

# A short lower-case word: names the issuer to people and to secret scanners.
PREFIX_PATTERN = r"[a-z][a-z0-9]{0,15}"
ID_BYTES = 8
SECRET_BYTES = 32
ID_PATTERN = r"[0-9a-f]{16}"

# Hex ids and lower-case base32 secrets hold no '_', so a key splits one way only.
_KEY = re.compile(
    f"(?P<prefix>{PREFIX_PATTERN})"
    f"_(?P<key_id>{ID_PATTERN})"
    r"_(?P<secret>[a-z2-7]{52})"
)


@dataclass(frozen=True, slots=True)
class PlainKey:
    """A key as its holder sees it; the secret stays out of `repr`."""

    prefix: str
    key_id: str
    secret: str = field(repr=False)

    @classmethod
    def generate(cls, prefix: str) -> Self:
        """A new key: a 64-bit public id and a 256-bit secret."""
        secret = base64.b32encode(secrets.token_bytes(SECRET_BYTES))
        return cls(
            prefix=prefix,
            key_id=secrets.token_hex(ID_BYTES),
            secret=secret.decode("ascii").rstrip("=").lower(),
        )

    @classmethod
    def parse(cls, value: str, prefix: str) -> Self | None:
        """The parts of `value`, or None unless it is a well-formed key of `prefix`."""
        match = _KEY.fullmatch(value)
        if match is None or match["prefix"] != prefix:
            return None
        return cls(prefix=prefix, key_id=match["key_id"], secret=match["secret"])

    @property
    def value(self) -> str:
        return f"{self.prefix}_{self.key_id}_{self.secret}"


def is_key_id(value: str) -> bool:
    return re.fullmatch(ID_PATTERN, value) is not None


def hash_secret(secret: str, pepper: str) -> str:
    """HMAC-SHA256 of the secret under the server's pepper, in hex.

    The secret carries 256 random bits, so a fast hash is enough (no password
    hashing needed); the pepper means a copy of the database alone can neither
    check a key nor plant one.
    """
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()
