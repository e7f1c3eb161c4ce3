"""Derived context: per-domain names and each microservice's own view of the answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from copier_template_extensions import ContextHook


def _sibling(name: str) -> ModuleType:
    """`extensions/<name>.py`, loaded from its file, next to this one.

    copier-template-extensions loads each `_jinja_extensions` entry by its path, not as
    part of a package. A plain `import names` would need this folder on `sys.path`, and
    would then keep the first copy it imported for the whole process, where an update
    renders two releases of the template.
    """
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"template_extensions_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_names = _sibling("names")
kebab = _names.kebab
pascal = _names.pascal
singular = _names.singular
title = _names.title
domains_error = _sibling("validators").domains_error


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
    if context.get("architecture") != "microservices" or not isinstance(
        service_dir, str
    ):
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
    context["sample_events"] = (
        bool(context.get("sample_events")) and domain == domains[1]
    )
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
