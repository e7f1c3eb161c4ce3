"""Keep the routers a team added to the route list that 0.5.0 no longer renders.

Before 0.5.0 the template-owned `api/routes.py` (monolith) or `modules/routes.py`
(modular monolith) listed every router, and a team registered its own there. Since
0.5.0 each domain's wiring module registers its router and the list is gone; a plain
update would delete it, edits included. Run as a pair of `_migrations` (copier.yml),
after `register_hook.py`:

    before: keeps the project's list if it differs from what the previous release
            rendered (updates/rename.py does the keeping)
    after:  writes it back as `legacy_routes.py` beside where it was, and has
            `app_extensions.register()` include the routers of it that no wiring
            module registered already

An unedited list is simply deleted: the wiring modules register the same routers.
Run from the project root by Copier's own Python.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# A script beside this one, not a package: imported once the path holds its folder.
import rename

LISTS = ("src/*/api/routes.py", "src/*/modules/routes.py")
KEPT = "legacy_routes.py"

INCLUDE = """    # Routers added by hand to {old} before 0.5.0, which the update kept in
    # {new}; the generated domains' routers come from wiring/.
    from {module} import legacy_routes

    for router in legacy_routes.api_routers():
        if router not in container.routers:
            container.include_router(router)
"""


def include_in_register(hooks: Path, old: Path, new: Path) -> None:
    """Insert INCLUDE at the start of `register()`'s body, after its docstring."""
    lines = hooks.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("def register("))
    body = start + 1
    if lines[body].lstrip().startswith('"""'):
        # A one-line docstring closes on its own line; a longer one on a later line.
        if lines[body].count('"""') < 2:
            body = next(i for i in range(body + 1, len(lines)) if '"""' in lines[i])
        body += 1
    module = ".".join(new.with_suffix("").parts[1:-1])
    # Paths inside the package, as a reader of app_extensions.py sees them.
    inside = {
        "old": Path(*old.parts[2:]).as_posix(),
        "new": Path(*new.parts[2:]).as_posix(),
    }
    block = INCLUDE.format(module=module, **inside)
    separator = "\n" if body < len(lines) and lines[body].strip() else ""
    lines[body:body] = [block + separator]
    hooks.write_text("".join(lines), encoding="utf-8")


def before() -> None:
    for pattern in LISTS:
        for old in sorted(Path().glob(pattern)):
            if rename.stash_edits(str(old), str(old.with_name(KEPT))) is False:
                print(f"legacy_routes: {old} had no local edits; wiring/ replaces it")


def after() -> None:
    for stash in sorted(rename.STASH.rglob(f"{KEPT}.ours")):
        new = stash.relative_to(rename.STASH).with_name(KEPT)
        old = new.with_name("routes.py")
        rename.after(str(old), str(new))
        include_in_register(Path("src", new.parts[1], "app_extensions.py"), old, new)
        print(f"legacy_routes: {old} -> {new}, included by app_extensions.register()")


if __name__ == "__main__":
    if sys.argv[1:] not in (["before"], ["after"]):
        print("usage: legacy_routes.py before|after", file=sys.stderr)
        sys.exit(2)
    before() if sys.argv[1] == "before" else after()
