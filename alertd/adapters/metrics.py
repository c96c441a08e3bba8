"""Prometheus metrics, one registry per app so that several apps can live in one test run."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.alerts_raised = Counter(
            "alertd_alerts_raised",
            "Alerts raised (new alerts, not idempotent retries).",
            ["kind", "drill"],
            registry=self.registry,
        )
        self.events_streamed = Counter(
            "alertd_stream_events_sent",
            "Event messages sent to stream clients (replayed and live).",
            ["phase"],
            registry=self.registry,
        )
        self.stream_clients = Gauge(
            "alertd_stream_clients", "Connected stream clients.", registry=self.registry
        )
        self.replay_lag = Histogram(
            "alertd_stream_replay_lag_events",
            "How many events behind the log head a client was when it connected with since.",
            buckets=(0, 1, 5, 10, 50, 100, 500, 1000, 5000, 10000),
            registry=self.registry,
        )
        self.slow_consumers = Counter(
            "alertd_stream_slow_consumers",
            "Stream clients closed because they fell too far behind.",
            registry=self.registry,
        )
        self.effects_failed = Counter(
            "alertd_effects_failed",
            "Effects (texts) that failed for good.",
            registry=self.registry,
        )
