"""Cameras, wired: the source registry, view tokens and the aiortc relay."""

from __future__ import annotations

from datetime import timedelta

from alertd.adapters.auth.secretbox import AesGcmBox
from alertd.adapters.auth.view_tokens import JwtViewTokens
from alertd.adapters.db.cameras import SqlCameraSources
from alertd.adapters.db.engine import Database
from alertd.adapters.db.store import SqlStore
from alertd.adapters.video.feed import FeedTimings
from alertd.adapters.video.relay import AiortcRelay, IceServer
from alertd.adapters.wire.site import SiteDocument
from alertd.app.cameras import CameraService
from alertd.app.ports import Clock, EventBus
from alertd.core.operator import STARTUP
from alertd.settings import Settings


def camera_service(
    db: Database, settings: Settings, *, store: SqlStore, bus: EventBus, clock: Clock
) -> CameraService:
    """Cameras: the source registry, view tokens and the aiortc relay."""
    server_key = settings.secret_key.get_secret_value()
    relay = AiortcRelay(
        ice_servers=[
            IceServer(s["urls"], s.get("username"), s.get("credential"))
            for s in settings.camera_ice_servers
        ],
        timings=FeedTimings(
            stall_seconds=settings.camera_stall_seconds,
            linger_seconds=settings.camera_linger_seconds,
        ),
        passthrough=settings.camera_passthrough,
    )
    return CameraService(
        store=store,
        sources=SqlCameraSources(db),
        tokens=JwtViewTokens(server_key),
        relay=relay,
        box=AesGcmBox(server_key),
        bus=bus,
        clock=clock,
        token_lifetime=timedelta(seconds=settings.camera_view_token_seconds),
    )


async def seed_demo_cameras(service: CameraService, site: SiteDocument) -> None:
    """The demo district's cameras show a test pattern."""
    for school in site.schools:
        for building in school.buildings:
            for floor in building.floors:
                for camera in floor.cameras:
                    await service.set_source(
                        principal=STARTUP, camera_id=camera.id, url="test-pattern:"
                    )
