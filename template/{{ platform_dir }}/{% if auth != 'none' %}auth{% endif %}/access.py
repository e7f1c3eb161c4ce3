"""Roles and the permission matrix: the one place that says who may do what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    USER = "user"
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"
    """Read the caller's own objects."""
    WRITE = "write"
    """Create objects, and change or delete the caller's own."""
    ACT_ON_ALL = "act_on_all"
    """Read, change and delete every principal's objects, not only one's own."""
    MANAGE_ACCESS = "manage_access"
    """Manage who may call the service: roles, accounts, keys."""


PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.USER: frozenset({Permission.READ, Permission.WRITE}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a user, a machine or a token's subject."""

    subject: str
    roles: frozenset[Role]

    def can(self, permission: Permission) -> bool:
        return any(permission in PERMISSIONS[role] for role in self.roles)

    @property
    def owner_scope(self) -> str | None:
        """Whose objects this principal works on; None means everybody's."""
        return None if self.can(Permission.ACT_ON_ALL) else self.subject

    def may_see(self, owner_id: str) -> bool:
        """Whether objects owned by `owner_id` are within this principal's scope."""
        scope = self.owner_scope
        return scope is None or scope == owner_id
