"""Derived context: the service being rendered, and naming facts about its domains.

The answers stay as the user gave them: `architecture`, `domains`, `package_name`,
`project_slug`, `project_name`... always describe the whole project. Copier renders a
deployable's files (the template's `service_dirs` folder, and its `deploy/k8s/` folder)
once per service, with `service_dir` set, so a template must tell "this service" from
"the project". This hook adds to every render:

- `service`: the deployable being rendered, a dict with
  - `dir`: its folder, `.` or `services/<domain>`;
  - `package`, `slug`, `name`: its import name, distribution name and human name;
  - `domains`: the domains it holds;
  - `layout`: `layers` (api/application/domain/infrastructure) or `modules` (one
    module per domain, each layered);
  - `settings_module`: where its `Settings` class lives;
  - `remote_targets`: the domains its items refer to that live in other services,
    which it calls over HTTP (their `dmeta`-like entries are `peers`, below);
  - `sample_events`, `added_domains`: extensions/scaffold.py's facts
    as they apply to this service.

  A monolith or modular monolith is one service at the repository root, the same in
  every render: its package, domains and names are the project's. A microservices
  system has one service per domain, in `services/<domain>/`, laid out as a monolith
  of that domain with a package of its own, `<package>_<domain>`; in the system's own
  files (the root Makefile, compose.yaml, the system tests, the platform library) no
  service is being rendered and `service` is None.
- `services`: every deployable of the project, as `service` would be in its files:
  the one of a monolith, each of a microservices system (the software catalog lists
  them, with who calls whom).
- `dmeta`: names and import paths of each domain of the service (in the system's own
  files, of every domain, in its own service), its fields, its `refs` (the
  relations from its items, each with `to`, the target's `dmeta` entry, `remote`,
  `foreign_key`, and how the broker's deletion events keep it: `released` (the
  field emptied), `cascaded` (the items deleted), `handler` (the use case that does
  it), `subscribed` (heard)), its `dependents` (the relations to its items),
  `publishes` (its deletes publish `<domain>.deleted`), `evented` (its use cases
  publish or hear events) and `unsets` (a PATCH may leave one of its nullable fields
  alone);
- `relations`: every relation of the project (`relations_of` below);
- `peers`: the service's `remote_targets`, by name, as `dmeta` entries;
- `follows`: the answer's references whose target's deletions the service follows
  through the broker (in a microservices system), each with its `domain`;
- `table_order`: the service's domains, each after those its foreign keys point to;
- `uses_unset`: whether the platform's `unset.py` is rendered (a related pair, or an
  optional field in the answer `entities`);
- `relation`, `parent`, `child`: the sample's relation (the second domain's items
  refer to the first's, unless the answer `entities` gives the second's fields), or
  in a microservices system without it the answer's first relation; its two ends as
  `dmeta` entries, or None where the service holds neither. Its event flow and the
  microservices system's files show it: the child's service checks the parent
  over HTTP and follows its deletion events.
"""

from __future__ import annotations

import importlib.util
import sys
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
    # Dataclasses look their module up while the class body runs; each load
    # replaces the entry, so an update's second release gets its own copy.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_names = _sibling("names")
kebab = _names.kebab
pascal = _names.pascal
singular = _names.singular
title = _names.title
_validators = _sibling("validators")
_entities = _sibling("entities")


def domain_info(
    name: str, package: str, layout: str, entities: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Names and import paths of one domain's modules in `package`, laid out so, and
    the fields of its entity (`fields`, extensions/entities.py's `Field`s): the
    one `entities` (the answer, read) gives, else the sample's."""
    one = singular(name)
    info: dict[str, Any] = {
        "name": name,
        "one": one,
        "Class": pascal(one),
        "title": title(name),
        "kebab": name.replace("_", "-"),
        # Its fields but references, which `refs` gives (DerivedContext).
        "fields": tuple(
            field
            for field in _entities.entity_of(name, entities or {}).fields
            if field.type != "ref"
        ),
        # Whether the answer `entities` gives them (else they are the sample's).
        "custom": name in (entities or {}),
    }
    # The StrEnum class of each enum field (fields.jinja's `enum_class`).
    info["enums"] = tuple(
        info["Class"] + pascal(field.name)
        for field in info["fields"]
        if field.type == "enum"
    )
    if layout == "modules":
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


def service_of(context: dict[str, Any]) -> dict[str, Any] | None:
    """The deployable this render belongs to (see above), or None in a system's files.

    Reads extensions/scaffold.py's facts from the context: that hook runs first (each
    `ContextHook` wraps the context of the ones listed before it in copier.yml, so the
    last listed runs first).
    """
    architecture = context.get("architecture")
    domains = list(context["domains"])
    package = str(context.get("package_name", ""))
    slug = str(context.get("project_slug", ""))
    name = str(context.get("project_name", ""))
    if architecture != "microservices":
        return {
            "dir": ".",
            "package": package,
            "slug": slug,
            "name": name,
            "domains": domains,
            "layout": "modules" if architecture == "modular_monolith" else "layers",
            "settings_module": f"{context.get('platform_pkg')}.config",
            "remote_targets": [],
            "sample_events": bool(context.get("sample_events")),
            "added_domains": list(context.get("added_domains") or []),
        }
    service_dir = context.get("service_dir")
    if not isinstance(service_dir, str):
        return None
    domain = service_dir.rsplit("/", 1)[-1]
    second = domains[1] if len(domains) > 1 else None
    return {
        "dir": service_dir,
        "package": f"{package}_{domain}",
        "slug": f"{slug}-{kebab(domain)}",
        "name": f"{name} {title(domain)}",
        "domains": [domain],
        "layout": "layers",
        "settings_module": f"{package}_{domain}.config",
        # The domains its items refer to, each the domain of another service.
        "remote_targets": list(
            dict.fromkeys(
                r["target"]
                for r in context.get("relations") or ()
                if r["child"] == domain
            )
        ),
        # Only the second domain's service subscribes to the first one's events.
        "sample_events": bool(context.get("sample_events")) and domain == second,
        # A service's first migration creates its tables; a domain added later is a new
        # service with a first migration of its own, never a migration in the others.
        "added_domains": [],
    }


# What the derived context is made of: the answers and facts `derive` reads.
INPUTS = (
    "architecture",
    "domains",
    "entities",
    "package_name",
    "platform_pkg",
    "project_name",
    "project_slug",
    "broker",
    "sample_events",
    "added_domains",
    "service_dir",
)


class DerivedContext(ContextHook):
    """Adds `service`, `dmeta`, `parent` and `child` (see above) to every render.

    Copier makes a context for every path part and file it renders, about 2,000 in
    a copy, for a few different inputs (one per service): each is derived once.
    """

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.derived: dict[str, dict[str, Any]] = {}

    def hook(self, context: dict[str, Any]) -> None:
        key = repr([context.get(name) for name in INPUTS])
        if key not in self.derived:
            given = {name: context[name] for name in INPUTS if name in context}
            derived = dict(given)
            derive(derived)
            self.derived[key] = {
                name: value
                for name, value in derived.items()
                if name not in given or value != given[name]
            }
        context.update(self.derived[key])


def derive(context: dict[str, Any]) -> None:
    """Adds the derived context (see above) to `context`, which holds `INPUTS`."""
    domains = context.get("domains")
    if not isinstance(domains, list):
        return
    if _validators.domains_error(domains, singular=singular):
        return
    package = str(context.get("package_name", ""))
    answer = context.get("entities")
    if _entities.entities_error(answer, domains, context.get("architecture")):
        entities = {}  # the answer's validator says why
    else:
        entities = _entities.read_entities(answer, domains)
    relations = context["relations"] = relations_of(domains, entities)
    # Each domain of a microservices system is a service of its own (in the
    # system's files too, where `meta` below holds them all): no foreign keys.
    micro = context.get("architecture") == "microservices"
    # The platform's UNSET (a PATCH that leaves a nullable field alone): for
    # optional references and fields.
    context["uses_unset"] = any(r["optional"] for r in relations) or any(
        field.optional for entity in entities.values() for field in entity.fields
    )
    # The sample's event flow needs the sample's relation.
    if not any(r["implicit"] for r in relations):
        context["sample_events"] = False
    service = context["service"] = service_of(context)
    if micro:
        context["services"] = [
            service_of({**context, "service_dir": f"services/{d}"}) for d in domains
        ]
    else:
        context["services"] = [service_of(context)]
    if service is None:
        meta = {
            d: domain_info(d, f"{package}_{d}", "layers", entities) for d in domains
        }
    else:
        meta = {
            d: domain_info(d, service["package"], service["layout"], entities)
            for d in service["domains"]
        }
    context["dmeta"] = meta
    for info in meta.values():
        info["refs"], info["dependents"] = [], []
    for relation in relations:
        child, target = relation["child"], relation["target"]
        if child in meta:
            local = target in meta and not micro
            to = (
                meta[target]
                if local
                # It lives in another service, in a package of its own.
                else domain_info(target, f"{package}_{target}", "layers", entities)
            )
            # The answer's references in one database are foreign keys.
            keyed = local and not relation["implicit"]
            meta[child]["refs"].append(
                {**relation, "to": to, "remote": not local, "foreign_key": keyed}
            )
        if target in meta:
            keyed = child in meta and not relation["implicit"] and not micro
            meta[target]["dependents"].append({**relation, "foreign_key": keyed})
    brokered = context.get("broker", "none") != "none"
    for info in meta.values():
        for ref in info["refs"]:
            # Without a foreign key, the broker's deletion events empty the field
            # (`released`) or delete the items (`cascaded`).
            followed = brokered and not ref["foreign_key"]
            ref["released"] = followed and ref["on_delete"] == "set_null"
            ref["cascaded"] = followed and ref["on_delete"] == "cascade"
            # The use case that follows a deletion of the target, if one does.
            ref["handler"] = (
                f"release_{ref['key']}"
                if ref["released"]
                else f"delete_with_{ref['key']}" if ref["cascaded"] else None
            )
            # Whether its service subscribes to the target's deletions: the
            # sample's relation only with `sample_events`.
            ref["subscribed"] = (ref["released"] or ref["cascaded"]) and (
                not ref["implicit"] or bool(context.get("sample_events"))
            )
        # Whether its deletes publish `<domain>.deleted`: for the relations to
        # it without a foreign key, and in a microservices system always, so
        # that a service added later can follow them without a change here.
        info["publishes"] = brokered and (
            micro or any(not r["foreign_key"] for r in info["dependents"])
        )
        # Whether its use cases publish or hear events.
        info["evented"] = info["publishes"] or (
            brokered and any(not r["foreign_key"] for r in info["refs"])
        )
        # Whether a PATCH may leave one of its nullable fields alone (UNSET).
        info["unsets"] = any(r["optional"] for r in info["refs"]) or any(
            f.optional for f in info["fields"]
        )
    # The answer's relations whose target's deletions the service follows.
    context["follows"] = [
        {**ref, "domain": domain}
        for domain, info in meta.items()
        for ref in info["refs"]
        if ref["subscribed"] and not ref["implicit"]
    ]
    # The tables of the service, each after those its foreign keys point to.
    context["table_order"] = table_order(list(meta), relations)
    # The targets in other services, by name, as `dmeta` gives its own domains.
    context["peers"] = {
        ref["to"]["name"]: ref["to"]
        for info in meta.values()
        for ref in info["refs"]
        if ref["remote"]
    }
    # The sample's relation, which the event flow shows; in a microservices
    # system, else the answer's first, which the system tests show.
    first = next((r for r in relations if r["implicit"]), None)
    if first is None and micro:
        first = next(iter(relations), None)
    context["relation"] = first
    context["child"] = meta.get(first["child"]) if first else None
    context["parent"] = None
    if first and context["child"]:
        context["parent"] = context["child"]["refs"][0]["to"]
    elif first:
        context["parent"] = meta.get(first["target"])


def relations_of(domains: list[str], entities: dict[str, Any]) -> list[dict[str, Any]]:
    """Each reference of one domain's items to another's, in the order of `domains`:
    the `ref` fields of the answer `entities`, and the sample's, which relates the
    second domain's items to the first's (when `entities` leaves the second out).

    A relation is a dict: `child` (the referring domain), `target` (the domain it
    points to), `field` (the field holding the target's id), `key` (the name the
    generated code gives the relation: the field without `_id`), `optional` and
    `on_delete`, and `implicit`: whether it is the sample's (which has no foreign
    key: the second domain's service releases its items when it hears of a deletion
    of the first's, through the broker) or the answer's (a foreign key in a monolith
    or a modular monolith, whose database keeps `on_delete`).
    """
    relations = []
    for domain in domains:
        references = entities[domain].references if domain in entities else ()
        for field in references:
            relations.append(
                {
                    "child": domain,
                    "target": field.to,
                    "field": field.name,
                    "key": field.name.removesuffix("_id"),
                    "optional": field.optional,
                    "on_delete": field.on_delete,
                    "implicit": False,
                }
            )
        if domain not in entities and len(domains) >= 2 and domain == domains[1]:
            one = singular(domains[0])
            relations.append(
                {
                    "child": domain,
                    "target": domains[0],
                    "field": f"{one}_id",
                    "key": one,
                    "optional": True,
                    "on_delete": "set_null",
                    # No foreign key: it is released through the broker's events.
                    "implicit": True,
                }
            )
    return relations


def table_order(domains: list[str], relations: list[dict[str, Any]]) -> list[str]:
    """`domains` in their order, but each after the domains it refers to (the
    answer's validator refuses references in a circle)."""
    ordered: list[str] = []

    def place(domain: str) -> None:
        if domain in ordered:
            return
        for relation in relations:
            if relation["child"] == domain and relation["target"] in domains:
                place(relation["target"])
        ordered.append(domain)

    for domain in domains:
        place(domain)
    return ordered
