"""Prometheus metrics of one API process: request latency measured here, and the
pipeline's state read from the store at each scrape.

Each app has a registry of its own (not prometheus_client's global one), so that several
apps in one process (the tests) do not collide. The store is read at scrape time, not
mirrored into counters, because the flow and the worker are other processes: the store
is where their totals live.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crisiswatch.api.breaker import StoreBreaker, StoreDown
from crisiswatch.store import Store, StoreError

OUTCOMES = ("processed", "duplicate", "late", "dead_lettered")
ALERTS_COUNTED = 1000  # the most recent incidents; older ones are resolved in practice
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0)


class HttpMetrics:
    """Latency to the response's first byte (for ``GET /stream``: to the stream's start,
    not its whole life) and responses in progress (for the stream: connected clients),
    by route template so that ids in paths do not multiply the series."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "crisiswatch_http_request_duration_seconds",
            "time from request to response headers", ["method", "route", "status"],
            buckets=LATENCY_BUCKETS, registry=registry)
        self.in_progress = Gauge(
            "crisiswatch_http_responses_in_progress",
            "responses started and not finished (GET /stream: connected clients)", ["route"],
            registry=registry)


class LatencyMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route: str | None = None

        async def timed(message: Message) -> None:
            nonlocal route
            if message["type"] == "http.response.start":
                matched = scope.get("route")  # set by the router on this same scope
                route = getattr(matched, "path", None) or "unmatched"
                self.metrics.latency.labels(scope["method"], route,
                                            f"{message['status'] // 100}xx").observe(
                    time.perf_counter() - started)
                self.metrics.in_progress.labels(route).inc()
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            if route is not None:
                self.metrics.in_progress.labels(route).dec()


class StoreCollector:
    """The pipeline seen through the store, at scrape time. With Redis down it reports
    ``crisiswatch_redis_up 0`` and nothing else from the store (this process's request
    metrics still come): a scrape during an outage is when they matter most."""

    def __init__(self, store: Store, breaker: StoreBreaker) -> None:
        self.store = store
        self.breaker = breaker

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("crisiswatch_redis_up", "1 when the store answers")
        try:
            if self.breaker.is_open():
                raise StoreDown("the circuit breaker is open after a failed call")
            families = list(self._read())
        except StoreError as e:
            self.breaker.trip(e)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> Iterator[Metric]:
        s, now = self.store.stats(), time.time()
        yield _counter("crisiswatch_records_read", "records read by the flow", s["read"])
        records = CounterMetricFamily("crisiswatch_records", "records by outcome",
                                      labels=["outcome"])
        for outcome in OUTCOMES:
            records.add_metric([outcome], s[outcome])
        yield records
        accounted = sum(s[o] for o in OUTCOMES)
        yield _gauge("crisiswatch_records_in_flight",
                     "records read and not yet accounted for", s["read"] + s["fanout"] - accounted)

        ends = GaugeMetricFamily("crisiswatch_window_end_timestamp_seconds",
                                 "event-time end of the newest closed window", labels=["brand"])
        lag = GaugeMetricFamily(
            "crisiswatch_window_lag_seconds", "wall clock minus the event-time end of the "
            "brand's newest closed window: window length + allowed lateness + processing "
            "delay on a live stream; the data's age on a replay", labels=["brand"])
        for brand in self.store.brands():
            newest = self.store.series(brand, limit=1, newest=True)
            if newest:
                ends.add_metric([brand], newest[0]["window_end"])
                lag.add_metric([brand], now - newest[0]["window_end"])
        yield ends
        yield lag

        counts = Counter((a["severity"], a["state"])
                         for a in self.store.alerts(limit=ALERTS_COUNTED))
        alerts = GaugeMetricFamily(
            "crisiswatch_alerts", f"incidents by severity and state (the {ALERTS_COUNTED} "
            "most recent)", labels=["severity", "state"])
        for (severity, state), n in sorted(counts.items()):
            alerts.add_metric([severity, state], n)
        yield alerts

        deliveries = CounterMetricFamily("crisiswatch_webhook_deliveries",
                                         "webhook delivery outcomes", labels=["outcome"])
        for outcome, n in self.store.outbox.totals().items():
            deliveries.add_metric([outcome], n)
        yield deliveries
        queue = self.store.outbox.counts()
        waiting = GaugeMetricFamily("crisiswatch_webhook_messages",
                                    "webhook messages queued, and dead (waiting for a redrive)",
                                    labels=["state"])
        waiting.add_metric(["queued"], queue["queued"])
        waiting.add_metric(["dead"], queue["dead"])
        yield waiting

        beats = GaugeMetricFamily("crisiswatch_heartbeat_age_seconds",
                                  "seconds since the component's last heartbeat",
                                  labels=["component"])
        for component, beat in heartbeats(self.store).items():
            if beat is not None:
                beats.add_metric([component], now - beat)
        yield beats


def heartbeats(store: Store) -> dict[str, float | None]:
    """Last heartbeat (epoch seconds) of the flow and of the activation worker."""
    flow = store.stats()["status"].get("heartbeat")
    worker = store.outbox.worker().get("seen")
    return {"flow": float(flow) if flow else None, "worker": float(worker) if worker else None}


def _counter(name: str, doc: str, value: float) -> Metric:
    family = CounterMetricFamily(name, doc)
    family.add_metric([], value)
    return family


def _gauge(name: str, doc: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, doc)
    family.add_metric([], value)
    return family


def registry_for(store: Store, breaker: StoreBreaker) -> tuple[CollectorRegistry, HttpMetrics]:
    registry = CollectorRegistry()
    registry.register(StoreCollector(store, breaker))  # type: ignore[arg-type]
    return registry, HttpMetrics(registry)

