"""Naming filters, answer validators and derived values for the template.

Everything here is pure and deterministic: it runs for every rendered file.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from typing import Any

from copier_template_extensions import ContextHook
from jinja2.ext import Extension

_WORD = re.compile(r"[A-Za-z0-9]+")
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")

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
    }
)


def words(value: str) -> list[str]:
    """Split a human name into lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(value))
    return [w.lower() for w in _WORD.findall(spaced)]


def kebab(value: str) -> str:
    return "-".join(words(value))


def snake(value: str) -> str:
    return "_".join(words(value))


def pascal(value: str) -> str:
    return "".join(w.capitalize() for w in words(value))


def title(value: str) -> str:
    return " ".join(w.capitalize() for w in words(value))


def singular(value: str) -> str:
    """English singular of a snake_case plural; unchanged when not plural."""
    value = str(value)
    head, _, last = value.rpartition("_")
    prefix = f"{head}_" if head else ""
    if last.endswith("ies") and len(last) > 3:
        return f"{prefix}{last[:-3]}y"
    if last.endswith(("sses", "xes", "ches", "shes")):
        return f"{prefix}{last[:-2]}"
    if last.endswith("s") and not last.endswith(("ss", "us", "is")):
        return f"{prefix}{last[:-1]}"
    return value


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


def rate_limit_per_minute_error(value: Any) -> str:
    # Copier casts the answer to int first; a bool is an int to Python, not here.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return (
            "rate_limit_per_minute must be a whole number of requests, at least 1 "
            f"(got {value!r})."
        )
    return ""


def domains_error(value: Any, architecture: str = "monolith") -> str:
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


def quoted(value: str) -> str:
    """A double-quoted string literal valid in Python, TOML and YAML."""
    return json.dumps(str(value), ensure_ascii=False)


def with_article(value: str) -> str:
    """'a user', 'an order': the words of an identifier with its indefinite article."""
    text = str(value).replace("_", " ")
    return f"{'an' if _vowel_sound(text) else 'a'} {text}"


# Written with a vowel, said with a consonant ("a user", "a unit", "a euro"), or
# the other way round ("an hour").
_CONSONANT_SOUNDS = ("uni", "use", "usa", "usu", "uti", "eu", "one", "once")
_VOWEL_SOUNDS = ("hour", "honest", "honor", "honour", "heir")


def _vowel_sound(text: str) -> bool:
    word = text.lower()
    if word.startswith(_VOWEL_SOUNDS):
        return True
    return word[:1] in "aeiou" and not word.startswith(_CONSONANT_SOUNDS)


def pystr(value: str) -> str:
    """A Python string literal quoted the way ruff format and black write it."""
    text = str(value)
    if '"' in text and "'" not in text:
        body = json.dumps(text, ensure_ascii=False)[1:-1].replace('\\"', '"')
        return f"'{body}'"
    return json.dumps(text, ensure_ascii=False)


def docstring(value: str) -> str:
    """Text safe inside a triple-double-quoted docstring."""
    return str(value).replace("\\", "\\\\").replace('"', "'")


def last_part(path: str) -> str:
    """The last component of a relative path: `services/users` -> `users`, `.` -> `.`.

    For a path in the template's file names, where a `/` cannot stand.
    """
    return str(path).rstrip("/").rpartition("/")[2]


def _isort_key(name: str) -> tuple[int, str]:
    base = name.split(" as ")[0]
    kind = 0 if base.isupper() and len(base) > 1 else 1 if base[:1].isupper() else 2
    return kind, base.lower()


def import_from(names: Any, module: str, line_length: int = 88) -> str:
    """A `from module import names` statement laid out the way ruff's isort does."""
    ordered = sorted(set(names), key=_isort_key)
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= line_length:
        return line
    body = "".join(f"    {name},\n" for name in ordered)
    return f"from {module} import (\n{body})"


def _statement_key(statement: str) -> tuple[int, str]:
    words = statement.split()
    return (words[0] == "from", words[1].lower())


def sort_imports(block: str) -> str:
    """The import statements of `block` in the order isort (ruff's `I`) wants them.

    For a block of first-party imports whose order depends on names the answers
    choose: in a microservice, `<package>_platform` sorts before some service
    packages and after others. A statement is a line starting with `from` or
    `import` and the indented or closing lines that follow it; the lines after the
    last statement are kept as they are.
    """
    statements: list[list[str]] = []
    lines = block.splitlines()
    end = 0
    while end < len(lines):
        line = lines[end]
        if line.startswith(("from ", "import ")):
            statements.append([line])
        elif statements and line.startswith((" ", ")")):
            statements[-1].append(line)
        else:
            break  # the first line that is not an import: the rest stays as it is
        end += 1
    ordered = sorted(("\n".join(s) for s in statements), key=_statement_key)
    text = "\n".join([*ordered, *lines[end:]])
    return text + ("\n" if block.endswith("\n") else "")


def assignment(expression: str, target: str, indent: int = 0, line_length: int = 88) -> str:
    """`target = expression`, or the value in parentheses on a line of its own when
    the statement is too long: what ruff format and black both write."""
    pad = " " * indent
    line = f"{pad}{target} = {expression}"
    if len(line) <= line_length:
        return line
    return f"{pad}{target} = (\n{pad}    {expression}\n{pad})"


class NamingExtension(Extension):
    """Registers the naming and validation filters."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters.update(
            {
                "kebab": kebab,
                "snake": snake,
                "pascal": pascal,
                "title_words": title,
                "singular": singular,
                "slug_error": slug_error,
                "package_name_error": package_name_error,
                "email_error": email_error,
                "domains_error": domains_error,
                "rate_limit_per_minute_error": rate_limit_per_minute_error,
                "import_from": import_from,
                "assignment": assignment,
                "sort_imports": sort_imports,
                "quoted": quoted,
                "pystr": pystr,
                "with_article": with_article,
                "docstring": docstring,
                "last_part": last_part,
            }
        )


def domain_info(name: str, package: str, architecture: str) -> dict[str, str]:
    """Names and import paths of one domain's modules in the chosen layout."""
    one = singular(name)
    info = {
        "name": name,
        "one": one,
        "Class": pascal(one),
        "title": title(name),
        "kebab": name.replace("_", "-"),
    }
    if architecture == "modular_monolith":
        base = f"{package}.modules.{name}"
        info.update(
            domain=f"{base}.domain.model",
            service=f"{base}.application.service",
            repository=f"{base}.infrastructure.repository",
            routes=f"{base}.api.routes",
            schemas=f"{base}.api.schemas",
            dependencies=f"{base}.api.dependencies",
            tests=f"tests/modules/{name}",
        )
    else:
        info.update(
            domain=f"{package}.domain.{name}",
            service=f"{package}.application.{name}",
            repository=f"{package}.infrastructure.{name}",
            routes=f"{package}.api.{name}",
            schemas=f"{package}.api.schemas.{name}",
            dependencies=f"{package}.api.dependencies",
            tests="tests",
        )
    return info


def enter_service(context: dict[str, Any]) -> None:
    """Inside `services/<domain>/` of a microservices system, speak for that service.

    Copier renders the deployable's files (the template's `service_dirs` folder) once
    per service with `service_dir` set. Each service is laid out as a monolith of one
    domain with a package of its own, `<package>_<domain>`; the system's names stay
    reachable as `system`. The second domain's service keeps the first domain as its
    (remote) parent: it checks it over HTTP and reacts to its events.
    """
    service_dir = context.get("service_dir")
    if context.get("architecture") != "microservices" or not isinstance(service_dir, str):
        context.setdefault("system", None)
        return
    domains = list(context["domains"])
    domain = service_dir.rsplit("/", 1)[-1]
    context["system"] = {
        "package": context["package_name"],
        "slug": context["project_slug"],
        "name": context["project_name"],
        "domains": domains,
        "parent": domains[0],
        "child": domains[1],
    }
    context["architecture"] = "monolith"
    context["domains"] = [domain]
    context["package_name"] = f"{context['package_name']}_{domain}"
    context["project_slug"] = f"{context['project_slug']}-{kebab(domain)}"
    context["project_name"] = f"{context['project_name']} {title(domain)}"
    # Only the second domain's service subscribes to the first one's events.
    context["sample_events"] = bool(context.get("sample_events")) and domain == domains[1]
    # A service's first migration creates its tables; a domain added later is a new
    # service with a first migration of its own, never a migration in the others.
    context["added_domains"] = []
    context["events_added"] = False


class DerivedContext(ContextHook):
    """Adds `dmeta`, naming facts about each domain, and the nested-route pair."""

    def hook(self, context: dict[str, Any]) -> None:
        domains = context.get("domains")
        if not isinstance(domains, list) or domains_error(domains):
            return
        enter_service(context)
        domains = context["domains"]
        package = str(context.get("package_name", ""))
        architecture = str(context.get("architecture", "monolith"))
        meta = {d: domain_info(d, package, architecture) for d in domains}
        context["dmeta"] = meta
        system = context["system"]
        context["settings_module"] = (
            f"{package}.config" if system else f"{context.get('platform_pkg')}.config"
        )
        # The first domain owns the items of the second: /api/v1/{parent}/{id}/{child}.
        if system and domains[0] == system["child"]:
            # The parent lives in another service: only its names are known here.
            context["parent"] = domain_info(system["parent"], package, architecture)
            context["child"] = meta[domains[0]]
        elif system and domains[0] == system["parent"]:
            context["parent"] = meta[domains[0]]
            context["child"] = None
        elif len(domains) >= 2:
            context["parent"] = meta[domains[0]]
            context["child"] = meta[domains[1]]
        else:
            context["parent"] = None
            context["child"] = None
