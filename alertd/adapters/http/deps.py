"""FastAPI dependencies: the wired services, and who is acting.

`current_principal` is the one way a route learns who is asking. It tries each configured
authenticator in turn (bearer token, session cookie, API key, device signature); the first
that recognises its own kind of credential decides. An authenticator returns None when its
kind of credential is absent, and raises Unauthenticated when it is present but wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from alertd.adapters.metrics import Metrics
from alertd.adapters.twilio.signature import WebhookVerifier
from alertd.app.accounts import AccountService
from alertd.app.audit import AuditService
from alertd.app.cameras import CameraService
from alertd.app.compliance import ComplianceService
from alertd.app.devices import DeviceService
from alertd.app.drills import DrillService
from alertd.app.inbound import InboundService
from alertd.app.ports import Clock, EventBus, Store
from alertd.app.push import PushService
from alertd.app.reports import ReportService
from alertd.app.roll import RollService
from alertd.app.service import AlertService
from alertd.app.signin import SignInService
from alertd.app.sites import SiteService
from alertd.app.sso import SsoService
from alertd.app.supervision import SupervisionService
from alertd.core.errors import Unauthenticated
from alertd.core.permission import Principal
from alertd.settings import Settings

Authenticator = Callable[[HTTPConnection, "HttpContext"], Awaitable[Principal | None]]


@dataclass(frozen=True)
class TwilioHooks:
    """What Twilio's webhooks need: the signature check and the service they call."""

    verifier: WebhookVerifier
    inbound: InboundService


@dataclass(frozen=True)
class HttpContext:
    alerts: AlertService
    store: Store
    bus: EventBus
    clock: Clock
    metrics: Metrics
    stream_queue: int
    stream_heartbeat_seconds: float
    stream_send_timeout_seconds: float
    settings: Settings
    sites: SiteService
    accounts: AccountService
    signin: SignInService
    devices: DeviceService
    supervision: SupervisionService
    audit: AuditService
    sso: SsoService
    twilio: TwilioHooks
    cameras: CameraService
    drills: DrillService
    reports: ReportService
    compliance: ComplianceService
    push: PushService | None = None  # Web Push subscriptions (None: not wired)
    roll: RollService | None = None  # room accountability (None: not wired)
    authenticators: Sequence[Authenticator] = ()
    # Readiness: each dependency's check raises (Unavailable) when it does not answer.
    dependencies: Mapping[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)


async def context(request: Request) -> HttpContext:
    ctx: HttpContext = request.app.state.context
    return ctx


async def current_principal(connection: HTTPConnection) -> Principal:
    """Who is asking, or Unauthenticated (401). Works for HTTP requests and WebSockets."""
    ctx: HttpContext = connection.app.state.context
    for authenticate in ctx.authenticators:
        principal = await authenticate(connection, ctx)
        if principal is not None:
            return principal
    raise Unauthenticated("sign in: send a bearer token, a session cookie or an API key")


# The two things every route asks for, as annotations: `ctx: Ctx, principal: Who`.
Ctx = Annotated[HttpContext, Depends(context)]
Who = Annotated[Principal, Depends(current_principal)]
