"""Prometheus metrics of the event bus: what the relay published, what each consumer
made of its deliveries, and what is waiting, in the outbox or parked."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge


class EventMetrics:
    """Counters that go up as events pass, and gauges of what waits in the database,
    brought up to date when /metrics is read (`EventBus.measure`)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        delivery = ("consumer", "type")
        self.published = Counter(
            "events_published_total",
            "Events the outbox relay sent to the broker.",
            ("type",),
            registry=self.registry,
        )
        self.handled = Counter(
            "events_handled_total",
            "Deliveries a consumer's handler completed.",
            delivery,
            registry=self.registry,
        )
        self.failed = Counter(
            "events_failed_total",
            "Deliveries whose handler raised: the event comes again, or is parked.",
            delivery,
            registry=self.registry,
        )
        self.parked = Counter(
            "events_parked_total",
            "Events parked here after events_max_attempts failed deliveries.",
            delivery,
            registry=self.registry,
        )
        self.dropped = Counter(
            "events_dropped_total",
            "Messages dropped because they were not events.",
            ("consumer",),
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "events_outbox_pending",
            "Events in the outbox, not yet published.",
            registry=self.registry,
        )
        self.outbox_oldest_age = Gauge(
            "events_outbox_oldest_age_seconds",
            "How long the oldest event in the outbox has waited; 0 when it is empty.",
            registry=self.registry,
        )
        self.parked_now = Gauge(
            "events_parked_waiting",
            "Parked events, waiting to be replayed (events.cli replay).",
            ("consumer",),
            registry=self.registry,
        )
        self._consumers: set[str] = set()
        self.unknown()

    def waiting(
        self,
        pending: int,
        oldest_age_s: float,
        parked: Mapping[str, int],
        consumers: Iterable[str] = (),
    ) -> None:
        """Set the gauges to a count just made; `consumers` show 0 when none is parked."""
        self.outbox_pending.set(pending)
        self.outbox_oldest_age.set(oldest_age_s)
        # A consumer whose parked events were replayed drops back to 0.
        self._consumers |= {*consumers, *parked}
        for consumer in self._consumers:
            self.parked_now.labels(consumer).set(parked.get(consumer, 0))

    def unknown(self) -> None:
        """The count failed (or was never made): no figure rather than a stale one."""
        for gauge in (self.outbox_pending, self.outbox_oldest_age):
            gauge.set(math.nan)
        for consumer in self._consumers:
            self.parked_now.labels(consumer).set(math.nan)
