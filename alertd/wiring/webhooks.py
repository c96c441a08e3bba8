"""Wiring of outbound webhooks: the store, the transport, the service, fan-out and handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alertd.adapters.auth.secretbox import AesGcmBox
from alertd.adapters.db.engine import Database
from alertd.adapters.db.webhooks import SqlWebhookStore
from alertd.adapters.webhook.http import HttpxWebhookTransport, SystemResolver, webhook_payload
from alertd.adapters.worker import EffectWorker
from alertd.app.ports import Clock, EventBus, Store
from alertd.app.relay import EffectHandler
from alertd.app.webhook_delivery import WebhookFanout, webhook_handler
from alertd.app.webhooks import WebhookService
from alertd.core.alert import EventType
from alertd.core.notice import NoticeType
from alertd.settings import Settings

EVENT_TYPES = frozenset({t.value for t in EventType} | {t.value for t in NoticeType})


@dataclass(frozen=True)
class Webhooks:
    service: WebhookService
    fanout: WebhookFanout
    handler: EffectHandler  # the relay's handler of DeliverWebhook
    worker: EffectWorker  # runs the fan-out
    transport: HttpxWebhookTransport  # closed at shutdown


def webhooks(
    db: Database,
    settings: Settings,
    *,
    store: Store,
    bus: EventBus,
    clock: Clock,
    wake_relay: Callable[[], None],
) -> Webhooks:
    webhook_store = SqlWebhookStore(db, box=AesGcmBox(settings.secret_key.get_secret_value()))
    resolver = SystemResolver()
    transport = HttpxWebhookTransport(timeout_seconds=settings.webhook_timeout_seconds)
    allow_private = settings.webhook_allow_private_addresses
    fanout = WebhookFanout(
        store=store,
        webhooks=webhook_store,
        clock=clock,
        encode=webhook_payload,
        on_effects_queued=wake_relay,
    )
    return Webhooks(
        service=WebhookService(
            webhooks=webhook_store,
            store=store,
            resolver=resolver,
            clock=clock,
            event_types=EVENT_TYPES,
            allow_private=allow_private,
            allow_http=settings.dev_mode or allow_private,
            on_effects_queued=wake_relay,
        ),
        fanout=fanout,
        handler=webhook_handler(
            webhooks=webhook_store,
            transport=transport,
            resolver=resolver,
            bus=bus,
            clock=clock,
            allow_private=allow_private,
            pause_after=settings.webhook_pause_after,
        ),
        worker=EffectWorker(
            fanout, poll_seconds=settings.outbox_poll_seconds, name="alertd-webhook-fanout"
        ),
        transport=transport,
    )
