"""Validators shared by the strict request schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator


def _integral(value: Any) -> Any:
    # JSON has one number type: 3.0 is a valid "integer" in the schema; true is not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integral = BeforeValidator(_integral)
"""Put after a StrictInt's constraints: 3 and 3.0 pass; "3", true and 3.5 do not."""
