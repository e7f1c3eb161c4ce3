"""Domain errors: a stable `code` each, and no knowledge of HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


@dataclass(eq=False)
class DomainError(Exception):
    """Base of every error the application reports to a caller."""

    message: str
    details: list[FieldProblem] = field(default_factory=list)
    code: str = "INTERNAL_ERROR"

    def __str__(self) -> str:
        return self.message


@dataclass(eq=False)
class InvalidInputError(DomainError):
    code: str = "VALIDATION_ERROR"


@dataclass(eq=False)
class NotFoundError(DomainError):
    code: str = "NOT_FOUND"


@dataclass(eq=False)
class ConflictError(DomainError):
    code: str = "CONFLICT"


@dataclass(eq=False)
class UnavailableError(DomainError):
    code: str = "SERVICE_UNAVAILABLE"
