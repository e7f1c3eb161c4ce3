"""Hand the platform's tables of a pre-0.5.0 service over to the platform's branches.

Before 0.5.0 the service's own history created the token issuer's tables
(`migrations/versions/0002_accounts.py`, auth jwt) or the API keys' table
(`0002_api_keys.py`, auth api_key). Since 0.5.0 the platform's revisions create them,
each feature on a branch of its own (`<platform>/migrations/`). A plain update would
delete the old revision, which the service's later revisions and its databases
(`alembic_version` holds "0002" or a descendant) still name. Run as a pair of
`_migrations` (copier.yml) on every update, whichever releases it crosses:

    before: keeps each such revision the project has, for the after stage
    after:  writes one the update deleted back, as a revision that creates nothing
            and depends on the platform's, with the same id and parent

Where the update deleted nothing (from 0.5.0 on, the template renders no such file
that it could delete), the after stage does nothing; so the pair does not depend on
Copier knowing which releases the update crosses.

Alembic then counts the platform's revision as applied wherever the old one was: a
database already at "0002" or later keeps its tables and does not create them again,
and a new database creates them once, on the platform's branch.

This holds only if the old revision created exactly what the platform's creates, as
every release rendered it. One the team edited, or one whose feature this update turns
off, is written back as it was, and a message says what to do by hand.
Run from the project root by Copier's own Python.
"""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

STASH = Path(".git") / "copier-platform-migrations"
LEGACY = {"0002_accounts.py": "accounts", "0002_api_keys.py": "api_keys"}
PLATFORM_REVISIONS = ("src/*/shared/migrations", "libs/*/src/*/migrations")

STUB = '''"""{title}: created by the platform's `platform_{feature}` branch since 0.5.0.

This revision stays, creating nothing, so that the databases already at it keep their
history: Alembic counts the platform's revision as applied wherever this one is.

Revision ID: {revision}
Revises: {down_revision}
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "{revision}"
down_revision: str | None = "{down_revision}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "platform_{feature}_0001"


def upgrade() -> None:
    """Nothing: `depends_on` has Alembic run the platform's revision first."""


def downgrade() -> None:
    """Nothing: downgrading the platform's revision drops the tables."""
'''

TITLES = {
    "accounts": "The token issuer's accounts and refresh tokens",
    "api_keys": "The API keys of machine clients",
}


def _legacy_revisions() -> list[Path]:
    return [
        path
        for pattern in ("migrations/versions", "services/*/migrations/versions")
        for versions in sorted(Path().glob(pattern))
        for name in LEGACY
        if (path := versions / name).is_file()
    ]


def _functions(source: str) -> dict[str, str]:
    """The `upgrade` and `downgrade` functions of a revision, as comparable dumps."""
    return {
        node.name: ast.dump(ast.Module(body=node.body, type_ignores=[]))
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name in {"upgrade", "downgrade"}
    }


def _constant(source: str, name: str) -> object:
    for node in ast.parse(source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == name:
            value = node.value
            return ast.literal_eval(value) if value is not None else None
    return None


def _platform_revision(feature: str) -> Path | None:
    for pattern in PLATFORM_REVISIONS:
        for folder in sorted(Path().glob(pattern)):
            if (path := folder / f"{feature}_0001.py").is_file():
                return path
    return None


def before() -> None:
    for path in _legacy_revisions():
        kept = STASH / path
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, kept)


def after() -> None:
    for kept in sorted(STASH.rglob("*.py")):
        path = kept.relative_to(STASH)
        if path.is_file():
            # Not deleted: an update from 0.5.0 or later, or one that kept it.
            kept.unlink()
            continue
        feature = LEGACY[path.name]
        source = kept.read_text(encoding="utf-8")
        platform = _platform_revision(feature)
        path.parent.mkdir(parents=True, exist_ok=True)
        if platform is None:
            shutil.copyfile(kept, path)
            print(
                f"platform_migrations: {path} kept as it was: this update turns its "
                "feature off, and its tables stay in the service's history"
            )
        elif _functions(source) != _functions(platform.read_text(encoding="utf-8")):
            shutil.copyfile(kept, path)
            print(
                f"platform_migrations: {path} kept as it was, because it differs "
                f"from {platform}, which creates these tables now. Move your change "
                "to a revision of its own, then make this one create nothing and "
                f'depend on the platform\'s: depends_on = "platform_{feature}_0001" '
                "(CHANGELOG, 0.5.0). Until then `alembic upgrade heads` stops "
                "on tables that exist already.",
                file=sys.stderr,
            )
        else:
            path.write_text(
                STUB.format(
                    title=TITLES[feature],
                    feature=feature,
                    revision=_constant(source, "revision"),
                    down_revision=_constant(source, "down_revision"),
                ),
                encoding="utf-8",
            )
            print(f"platform_migrations: {path} -> {platform} (depends_on)")
        kept.unlink()


if __name__ == "__main__":
    if sys.argv[1:] not in (["before"], ["after"]):
        print("usage: platform_migrations.py before|after", file=sys.stderr)
        sys.exit(2)
    before() if sys.argv[1] == "before" else after()
