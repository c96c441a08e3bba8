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
            "Event messages sent to stream clients: replayed, live (sent by the session) or "
            "published (written as they were published, the session waiting: no task woke).",
            ["phase"],
            registry=self.registry,
        )
        self.stream_clients = Gauge(
            "alertd_stream_clients", "Connected stream clients.", registry=self.registry
        )
        self.stream_sessions = Counter(
            "alertd_stream_sessions",
            "Stream sessions by how their events are written: `direct` (one frame built per "
            "event, written to each socket) or `asgi` (through the ASGI server's send).",
            ["writes"],
            registry=self.registry,
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
        self.provider_requests = Counter(
            "alertd_provider_requests",
            "Requests to the SMS/voice provider (Twilio), by channel and outcome "
            "(accepted, temporary, permanent, timeout).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "alertd_deliveries",
            "Delivery reports taken into the ledger, by channel and state.",
            ["channel", "state"],
            registry=self.registry,
        )
        self.delivery_failures = Counter(
            "alertd_delivery_failures",
            "Messages that failed, by channel and cause (Twilio error code, or "
            "temporary / timeout / the call status).",
            ["channel", "cause"],
            registry=self.registry,
        )
        self.sender_wait = Histogram(
            "alertd_sender_wait_seconds",
            "How long a message waited for its sender's rate limit.",
            ["channel"],
            buckets=(0, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.replies = Counter(
            "alertd_replies",
            "Texts and key presses received, by what they did.",
            ["outcome"],
            registry=self.registry,
        )
        self.webhooks_refused = Counter(
            "alertd_webhooks_refused",
            "Provider webhooks refused for a bad or missing signature.",
            registry=self.registry,
        )
