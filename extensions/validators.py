"""Answer validators: each returns an empty string or a message saying what is wrong."""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Callable
from typing import Any

from jinja2.ext import Extension

SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# The license of a service that is not published; anything else is an SPDX identifier
# (letters, digits, ".", "-" and "+", as in MIT, Apache-2.0, GPL-3.0-or-later).
PROPRIETARY = "Proprietary"
SPDX_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")

# Names a service's own package may not take: they would shadow a dependency
# or one of the generated top-level modules.
DEPENDENCY_NAMES = frozenset(
    {
        "alembic",
        "aiosqlite",
        "anyio",
        "asyncpg",
        "black",
        "cachetools",
        "fastapi",
        "granian",
        "httpx",
        "importlinter",
        "limits",
        "mypy",
        "opentelemetry",
        "orjson",
        "prometheus_client",
        "pydantic",
        "pydantic_settings",
        "pytest",
        "redis",
        "ruff",
        "schemathesis",
        "sqlalchemy",
        "starlette",
        "structlog",
        "tests",
        "uvicorn",
        "uvloop",
    }
)

# Domain names that would clash with routes, modules or Python names the
# service already uses.
RESERVED_DOMAINS = frozenset(
    {
        "api",
        "app",
        "application",
        "auth",
        "docs",
        "domain",
        "health",
        "infrastructure",
        "main",
        "metrics",
        "modules",
        "openapi",
        "platform",
        "shared",
        "tests",
        "bootstrap",
        "redoc",
        # Names bootstrap.py gives its parameters and the wiring package.
        "container",
        "engine",
        "settings",
        "wiring",
    }
)


def slug_error(value: str) -> str:
    if not SLUG_RE.match(str(value)):
        return (
            f"'{value}' is not a valid slug: use lower-case letters, digits and "
            "single hyphens, starting with a letter (e.g. acme-service)."
        )
    return ""


def package_name_error(value: str) -> str:
    value = str(value)
    if not IDENTIFIER_RE.match(value):
        return (
            f"'{value}' is not a valid package name: use lower-case letters, digits "
            "and single underscores, starting with a letter (e.g. acme_service)."
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"'{value}' is a Python keyword: pick another package name."
    if value in sys.stdlib_module_names:
        return (
            f"'{value}' is a standard-library module and would shadow it: "
            f"pick another package name (e.g. {value}_service)."
        )
    if value in DEPENDENCY_NAMES:
        return (
            f"'{value}' is the import name of a dependency or tool the service "
            f"uses: pick another package name (e.g. {value}_service)."
        )
    return ""


def email_error(value: str) -> str:
    if not EMAIL_RE.match(str(value)):
        return f"'{value}' is not an email address (expected name@example.com)."
    return ""


def license_error(value: str) -> str:
    if value != PROPRIETARY and not SPDX_ID_RE.match(str(value)):
        return (
            f"'{value}' is not a license identifier: give an SPDX identifier such as "
            f"MIT or Apache-2.0, or {PROPRIETARY}."
        )
    return ""


def rate_limit_per_minute_error(value: Any) -> str:
    # Copier casts the answer to int first; a bool is an int to Python, not here.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return (
            "rate_limit_per_minute must be a whole number of requests, at least 1 "
            f"(got {value!r})."
        )
    return ""


def domains_error(
    value: Any, architecture: str = "monolith", *, singular: Callable[[str], str]
) -> str:
    """`singular` is names.py's: this module is loaded by path, so it is passed in."""
    if not isinstance(value, list) or not value:
        return "domains must be a non-empty YAML list, e.g. [users, orders, products]."
    if architecture == "microservices" and len(value) < 2:
        return (
            "microservices need at least two domains (one service each): with one, "
            "choose the monolith."
        )
    seen: set[str] = set()
    for item in value:
        name = str(item)
        if not isinstance(item, str) or not IDENTIFIER_RE.match(name):
            return (
                f"domain '{name}' is not a snake_case identifier: use lower-case "
                "letters, digits and single underscores, starting with a letter."
            )
        if name in seen:
            return f"domain '{name}' is listed twice: each domain must be unique."
        if name in RESERVED_DOMAINS:
            return (
                f"domain '{name}' is reserved (it clashes with a route or module "
                "the service already has): pick another name."
            )
        if keyword.iskeyword(name) or name in sys.stdlib_module_names:
            return f"domain '{name}' is a Python keyword or stdlib module: rename it."
        if singular(name) in seen or any(singular(s) == singular(name) for s in seen):
            return f"domain '{name}' has the same singular as another domain."
        seen.add(name)
    return ""


class ValidatorExtension(Extension):
    """Registers the answer validators as filters, for the questions of copier.yml."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters.update(
            {
                "slug_error": slug_error,
                "package_name_error": package_name_error,
                "email_error": email_error,
                "license_error": license_error,
                # names.py's `singular` filter, looked up when the answer is checked.
                "domains_error": lambda value, architecture="monolith": domains_error(
                    value, architecture, singular=environment.filters["singular"]
                ),
                "rate_limit_per_minute_error": rate_limit_per_minute_error,
            }
        )
