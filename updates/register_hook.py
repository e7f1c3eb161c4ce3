"""Give an app_extensions.py from before 0.5.0 the `register` hook bootstrap.py calls.

Since 0.5.0 the template-owned bootstrap.py calls `app_extensions.register(container)`,
where the team registers what it adds by hand (routers, domains, event handlers,
middleware). Before, the hooks were `routers(container)` and `configure(app,
container)`. app_extensions.py is the service's own file, so the update does not
rewrite it; this `after` migration (copier.yml) appends a `register` that hands on
what `routers()` returns, and changes nothing else. A file that has a `register`
already is left alone. Run from the project root by Copier's own Python.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PATTERNS = ("src/*/app_extensions.py", "services/*/src/*/app_extensions.py")

REGISTER_ROUTERS = '''

def register(container: Container) -> None:
    """Register the service's own parts; bootstrap.py calls it after the domains.

    Added by the 0.5.0 update, which moved the hooks: routers, middleware and event
    handlers are registered on the container here (CHANGELOG, 0.5.0).
    """
    for router in routers(container):
        container.include_router(router)
'''

REGISTER_NOTHING = '''

def register(container: Container) -> None:
    """Register the service's own parts; bootstrap.py calls it after the domains.

    Added by the 0.5.0 update, which moved the hooks (CHANGELOG, 0.5.0).
    """
'''


def _defines(text: str, name: str) -> bool:
    return re.search(rf"^(async )?def {name}\(", text, re.MULTILINE) is not None


def add_register(path: Path) -> bool:
    """Append `register` to `path` unless it has one; whether it did."""
    text = path.read_text(encoding="utf-8")
    if _defines(text, "register"):
        return False
    hook = REGISTER_ROUTERS if _defines(text, "routers") else REGISTER_NOTHING
    path.write_text(text.rstrip("\n") + "\n" + hook, encoding="utf-8")
    return True


def main() -> int:
    for pattern in PATTERNS:
        for path in sorted(Path().glob(pattern)):
            if add_register(path):
                print(f"register_hook: added register() to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
