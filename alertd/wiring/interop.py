"""Wiring of the standards exports: CAP 1.2 and NENA EIDO."""

from __future__ import annotations

from urllib.parse import urlsplit

from alertd.adapters.db.agencies import SqlAgencyDirectory
from alertd.adapters.db.engine import Database
from alertd.app.interop import InteropService
from alertd.app.ports import Clock, Store
from alertd.app.service import AlertService
from alertd.settings import Settings


def cap_sender(settings: Settings) -> str:
    """CAP's `sender`: this alertd's host name, as public_url names it (`alertd@host`)."""
    host = urlsplit(settings.resolved_public_url()).hostname or "localhost"
    return f"alertd@{host}"


def interop_service(
    db: Database, settings: Settings, *, store: Store, alerts: AlertService, clock: Clock
) -> InteropService:
    return InteropService(
        store=store,
        alerts=alerts,
        agencies=SqlAgencyDirectory(db),
        clock=clock,
        sender=cap_sender(settings),
        console_url=settings.resolved_public_url() + "/console",
    )
