"""Liveness and readiness: ready means every backing service answered in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from {{ package_name }}.shared.errors import FieldProblem
from {{ package_name }}.shared.http.envelope import Envelope, ok
from {{ package_name }}.shared.http.errors import error_response, request_id_of

logger = structlog.get_logger("health")

Probe = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class HealthCheck:
    """A named probe; a non-critical one that fails is a warning, not a failure."""

    name: str
    probe: Probe
    critical: bool = True


class CheckResult(BaseModel):
    status: Literal["pass", "warn", "fail"]
    duration_ms: float
    error: str | None = None


class HealthReport(BaseModel):
    status: Literal["pass", "warn", "fail"]
    checks: dict[str, CheckResult]


async def _run(check: HealthCheck, timeout_s: float) -> CheckResult:
    started = time.perf_counter()
    error: str | None = None
    try:
        await asyncio.wait_for(check.probe(), timeout_s)
    except TimeoutError:
        error = f"no answer within {timeout_s:g} s"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    if error is None:
        return CheckResult(status="pass", duration_ms=duration_ms)
    logger.warning("health check failed", check=check.name, error=error)
    status: Literal["warn", "fail"] = "fail" if check.critical else "warn"
    return CheckResult(status=status, duration_ms=duration_ms, error=error)


def health_router(checks: Sequence[HealthCheck], timeout_s: float) -> APIRouter:
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live", response_model=Envelope[HealthReport])
    async def live() -> Response:
        """The process is up; checks nothing else."""
        return ok(HealthReport(status="pass", checks={}))

    @router.get("/ready", response_model=Envelope[HealthReport])
    async def ready(request: Request) -> Response:
        """Every backing service answered within the timeout."""
        results = await asyncio.gather(*(_run(check, timeout_s) for check in checks))
        by_name = {check.name: result for check, result in zip(checks, results, strict=True)}
        failed = [name for name, result in by_name.items() if result.status == "fail"]
        if failed:
            return error_response(
                503,
                "SERVICE_UNAVAILABLE",
                f"not ready: {', '.join(failed)}",
                request_id_of(request),
                [FieldProblem(name, by_name[name].error or "failed") for name in failed],
            )
        warned = any(result.status == "warn" for result in by_name.values())
        return ok(HealthReport(status="warn" if warned else "pass", checks=by_name))

    return router
