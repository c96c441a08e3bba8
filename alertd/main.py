"""The only place where alertd is wired together: `create_app(settings)`."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib import resources

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from alertd.adapters.auth.demo import seed_demo_users
from alertd.adapters.bus.memory import MemoryBus
from alertd.adapters.bus.redis_keys import RedisKeys
from alertd.adapters.bus.redis_streams import RedisBus
from alertd.adapters.clock import SystemClock
from alertd.adapters.db.claim import Heartbeat, Instance
from alertd.adapters.db.device_health import SqlHealthStore
from alertd.adapters.db.engine import open_database
from alertd.adapters.db.push import SqlPushSubscriptions
from alertd.adapters.db.store import SqlStore
from alertd.adapters.http import (
    alerts,
    audit,
    auth,
    cameras,
    devices,
    drills,
    ops,
    push,
    reports,
    roll,
    schools,
    twilio,
    users,
)
from alertd.adapters.http import interop as interop_routes
from alertd.adapters.http import webhooks as webhook_routes
from alertd.adapters.http.deps import HttpContext, TwilioHooks
from alertd.adapters.http.errors import install_error_handlers
from alertd.adapters.http.limits import BodyLimit
from alertd.adapters.http.security import ConfigurationError, SecurityHeaders
from alertd.adapters.http.web import install_web
from alertd.adapters.metrics import Metrics
from alertd.adapters.periodic import PeriodicTask
from alertd.adapters.push.webpush import WebPushSender, vapid_key
from alertd.adapters.sms.outbox_file import SmsOutboxFile
from alertd.adapters.twilio.configure import announce_provider, twilio_gateway, webhook_tokens
from alertd.adapters.twilio.gateway import TwilioGateway
from alertd.adapters.twilio.signature import WebhookVerifier
from alertd.adapters.wire.site import SiteDocument
from alertd.adapters.worker import EffectWorker
from alertd.adapters.ws import stream
from alertd.adapters.ws.frames import CaptureSend
from alertd.app.escalation import EscalationEngine
from alertd.app.inbound import InboundService
from alertd.app.log_relay import EventRelay
from alertd.app.ports import Clock, EventBus
from alertd.app.push import PushService, push_handler
from alertd.app.relay import OutboxRelay, sms_handler, voice_handler
from alertd.app.service import AlertService
from alertd.app.sites import SiteService
from alertd.app.supervision import SupervisionService
from alertd.core.effect import DeliverWebhook, PlaceCall, SendPush, SendSms
from alertd.core.operator import STARTUP
from alertd.settings import Settings
from alertd.wiring.accounts import account_services
from alertd.wiring.cameras import camera_service, seed_demo_cameras
from alertd.wiring.drills import drill_services
from alertd.wiring.interop import interop_service
from alertd.wiring.roll import wire_roll
from alertd.wiring.webhooks import webhooks

logger = logging.getLogger(__name__)

API_DESCRIPTION = """Emergency alert and dispatch for schools.

Raise an alert with `POST /v1/alerts` (an `Idempotency-Key` header makes retries safe),
follow every change on the WebSocket `/v1/stream?since=<event id>`, and move alerts through
acknowledged, responding, resolved, cancelled or all clear. Errors are JSON objects whose
`field` names the input at fault.
"""


logger = logging.getLogger(__name__)


def this_instance(settings: Settings) -> Instance:
    """This process as the other instances see it: a fresh id for every start."""
    return Instance(
        id=str(uuid.uuid4()),
        name=f"{socket.gethostname()}:{settings.port} (pid {os.getpid()})"[:200],
        timeout=timedelta(seconds=settings.instance_timeout_seconds),
    )


def demo_site() -> SiteDocument:
    text = resources.files("alertd.demo").joinpath("demo_district.json").read_text("utf-8")
    return SiteDocument.model_validate_json(text)


def refuse_placeholders(settings: Settings) -> None:
    """Raises ConfigurationError outside dev mode while a secret is still a placeholder."""
    placeholders = settings.placeholder_secrets()
    if placeholders and not settings.dev_mode:
        raise ConfigurationError(
            f"refusing to start: {', '.join(placeholders)} still holds a placeholder value; "
            "set a real secret (only dev mode, ALERTD_DEV_MODE=true, runs with placeholders)"
        )


def create_app(
    settings: Settings, *, clock: Clock | None = None, started: Callable[[], None] | None = None
) -> FastAPI:
    """Build the app. The database must already be migrated (`alertd db upgrade`).
    `started` is called once start-up is done (the background loops running).

    Raises ConfigurationError outside dev mode while a secret is still a placeholder.
    """
    refuse_placeholders(settings)
    clock = clock or SystemClock()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(
        settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous
    )
    instance = this_instance(settings)
    store = SqlStore(db, instance=instance)
    redis_bus = None
    bus: EventBus = MemoryBus()
    if settings.redis_url:
        bus = redis_bus = RedisBus(
            url=settings.redis_url,
            keys=RedisKeys(settings.redis_prefix),
            maxlen=settings.redis_stream_maxlen,
            store=store,
            poll_seconds=settings.outbox_poll_seconds,
        )
    metrics = Metrics()
    sms = SmsOutboxFile(settings.resolved_sms_outbox())
    gateway = twilio_gateway(settings, metrics)
    sender: SmsOutboxFile | TwilioGateway = gateway or sms
    # Web Push: subscriptions per person and device; pushes are effects the relay runs.
    push_sender = WebPushSender(
        key=vapid_key(
            secret_key=settings.secret_key.get_secret_value(),
            own_key=settings.vapid_private_key.get_secret_value(),
        ),
        subject=settings.vapid_subject,
        clock=clock,
    )
    push_subscriptions = SqlPushSubscriptions(db)
    push_service = PushService(
        store=push_subscriptions,
        clock=clock,
        public_key=push_sender.public_key,
        allow_http=settings.dev_mode,
    )
    # Outbound webhooks: a fan-out from the log queues deliveries the relay runs.
    hooks = webhooks(
        db, settings, store=store, bus=bus, clock=clock, wake_relay=lambda: worker.wake()
    )
    relay = OutboxRelay(
        store=store,
        bus=bus,
        handlers={
            SendSms: sms_handler(sender),
            PlaceCall: voice_handler(sender),
            SendPush: push_handler(push_sender, push_subscriptions),
            DeliverWebhook: hooks.handler,
        },
        clock=clock,
    )
    worker = EffectWorker(relay, poll_seconds=settings.outbox_poll_seconds)
    heartbeat = Heartbeat(db, instance, clock)
    background = [
        EffectWorker(heartbeat, poll_seconds=settings.heartbeat_seconds, name="alertd-heartbeat"),
        hooks.worker,
    ]
    if redis_bus is not None:
        event_relay = EventRelay(store=store, sink=redis_bus.stream)
        background.append(
            EffectWorker(
                event_relay, poll_seconds=settings.outbox_poll_seconds, name="alertd-event-relay"
            )
        )
    # Device supervision: heartbeats in, DeviceTrouble notices out; silence checked each round.
    supervision = SupervisionService(
        store=SqlHealthStore(db, instance=instance),
        bus=bus,
        clock=clock,
        low_battery_percent=settings.device_low_battery_percent,
    )
    background.append(
        EffectWorker(
            supervision,
            poll_seconds=settings.device_supervision_seconds,
            name="alertd-device-supervision",
        )
    )
    console_url = settings.resolved_public_url() + "/console"
    service = AlertService(
        store=store,
        bus=bus,
        clock=clock,
        repeat_window=timedelta(seconds=settings.repeat_press_seconds),
        on_effects_queued=worker.wake,
        console_url=console_url,
    )
    escalation = EscalationEngine(
        store=store, bus=bus, clock=clock, console_url=console_url, on_effects_queued=worker.wake
    )
    escalation_worker = EffectWorker(
        escalation, poll_seconds=settings.outbox_poll_seconds, name="alertd-escalation-worker"
    )
    inbound = InboundService(store=store, bus=bus, clock=clock, console_url=console_url)
    verifier = WebhookVerifier(
        tokens=webhook_tokens(settings), public_url=settings.resolved_public_url()
    )
    wired = account_services(db, settings, clock)
    checkpointer = PeriodicTask(
        "audit-checkpoint", wired.audit.checkpoint, every=settings.audit_checkpoint_seconds
    )

    camera_views = camera_service(db, settings, store=store, bus=bus, clock=clock)
    drilling = drill_services(db, settings, store=store, alerts=service, clock=clock)
    interop = interop_service(db, settings, store=store, alerts=service, clock=clock)
    rolls = wire_roll(
        db,
        settings,
        store=store,
        instance=instance,
        bus=bus,
        clock=clock,
        on_effects_queued=worker.wake,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.demo:
            await service.load_site(demo_site().to_site(), principal=STARTUP)
            await seed_demo_cameras(camera_views, demo_site())
            if settings.dev_mode:
                await seed_demo_users(db, now=clock.now())
        if db.is_sqlite:
            # One process owns a SQLite file: claims left in the outbox are from a previous
            # run that was killed mid-send, and must not wait out their lease.
            await store.release_claims()
        await heartbeat.run_once()  # registered before it claims anything
        announce_provider(gateway, outbox=settings.resolved_sms_outbox())
        if gateway is not None:
            await gateway.open()
        if redis_bus is not None:
            await redis_bus.start()
        loops: list[EffectWorker | PeriodicTask] = [
            *background,
            worker,
            escalation_worker,
            rolls.worker,
            checkpointer,
        ]
        for loop in loops:
            loop.start()
        if started is not None:
            started()
        try:
            yield
        finally:
            await camera_views.close()
            for loop in reversed(loops):
                await loop.stop()
            if redis_bus is not None:
                await redis_bus.stop()
            await _leave(store, heartbeat)
            sms.close()
            await push_sender.close()
            await hooks.transport.close()
            if gateway is not None:
                await gateway.close()
            await db.dispose()

    app = FastAPI(
        title="alertd",
        version="1",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by adapters/http/web.py from vendored files, not a CDN
        redoc_url=None,
    )
    app.state.context = HttpContext(
        alerts=service,
        store=store,
        bus=bus,
        clock=clock,
        metrics=metrics,
        stream_queue=settings.stream_queue,
        stream_heartbeat_seconds=settings.stream_heartbeat_seconds,
        stream_send_timeout_seconds=settings.stream_send_timeout_seconds,
        settings=settings,
        sites=SiteService(store=store, clock=clock),
        accounts=wired.accounts,
        signin=wired.signin,
        devices=wired.devices,
        supervision=supervision,
        audit=wired.audit,
        sso=wired.sso,
        push=push_service,
        dependencies={"database": store.ping, **({"redis": redis_bus.ping} if redis_bus else {})},
        twilio=TwilioHooks(verifier=verifier, inbound=inbound),
        cameras=camera_views,
        drills=drilling.drills,
        reports=drilling.reports,
        compliance=drilling.compliance,
        interop=interop,
        webhooks=hooks.service,
        roll=rolls.service,
        authenticators=(
            devices.authenticate_device,
            auth.authenticate_bearer,
            auth.authenticate_session,
            auth.authenticate_api_key,
        ),
    )
    app.state.encoded_events = stream.EncodedEvents()
    app.state.database = db  # for tests and tools that inspect the database itself
    app.state.escalation = escalation  # tests drive it on a fake clock
    app.state.relay = relay  # tests drive the outbox and the webhook fan-out on a fake clock
    app.state.webhook_fanout = hooks.fanout
    app.state.roll = rolls.service  # and the roll's reminder round
    install_error_handlers(app)
    routers = (
        auth.router,
        users.router,
        alerts.router,
        schools.router,
        devices.router,
        audit.router,
        twilio.router,
        push.router,
        cameras.router,
        drills.router,
        reports.router,
        interop_routes.router,
        webhook_routes.router,
        roll.router,
    )
    for router in (*routers, stream.router, ops.router):
        app.include_router(router)
    install_web(app, console_dir=settings.console_dir)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-CSRF-Token"],
    )
    app.add_middleware(SecurityHeaders, hsts=not settings.dev_mode)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        # Site documents, and IMDF archives (PUT /v1/schools/{id}/imdf), are large.
        overrides={"/v1/sites": settings.max_site_bytes, "/v1/schools/": settings.max_site_bytes},
    )
    app.add_middleware(CaptureSend)  # outermost: the stream writes its frames directly
    return app


async def _leave(store: SqlStore, heartbeat: Heartbeat) -> None:
    """A clean shutdown hands its unfinished claims back at once and leaves the instance
    table, so no other instance waits for the heartbeat timeout."""
    try:
        released = await store.release_own_claims()
        await heartbeat.stop()
    except Exception:  # the database is gone: the others take over after the timeout
        logger.warning("could not hand back claims at shutdown", exc_info=True)
    else:
        if released:
            logger.info("handed back %s unfinished effects", released)
