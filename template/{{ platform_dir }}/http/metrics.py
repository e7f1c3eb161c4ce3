"""Prometheus metrics of the HTTP layer and the route that exposes them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.responses import Response

# Fine enough below 100 ms for p50/p95/p99 of a fast API, wide enough for outliers.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class HttpMetrics:
    """Request latency, error counts, in-flight requests and readiness, on its own
    registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        labels = ("method", "route", "status")
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from request start to response end.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "http_request_errors_total",
            "Responses with a 4xx or 5xx status.",
            labels,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "http_requests_in_flight",
            "Requests being handled now.",
            registry=self.registry,
        )
        self.ready = Gauge(
            "service_ready",
            "1 when the last readiness check passed, 0 when it failed.",
            registry=self.registry,
        )
        # Unknown until the first readiness check: an alert on 0 does not fire.
        self.ready.set(float("nan"))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        status_label = str(status)
        self.latency.labels(method, route, status_label).observe(seconds)
        if status >= 400:
            self.errors.labels(method, route, status_label).inc()


def metrics_router(
    registry: CollectorRegistry,
    measures: Sequence[Callable[[], Awaitable[None]]] = (),
) -> APIRouter:
    """`/metrics`, serving `registry` once each of `measures` has set its gauges."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def expose_metrics() -> Response:
        for measure in measures:
            await measure()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
