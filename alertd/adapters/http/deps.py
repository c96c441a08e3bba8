"""FastAPI dependencies: the wired services, and who is acting.

The actor comes from one dependency so that authentication can replace it without touching
a route. Until then (dev mode) it is a developer, who may name themselves with headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Header, Request

from alertd.adapters.metrics import Metrics
from alertd.app.ports import Clock, EventBus, Store
from alertd.app.service import AlertService
from alertd.core.actor import Actor, ActorKind


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


async def context(request: Request) -> HttpContext:
    ctx: HttpContext = request.app.state.context
    return ctx


DEV_ACTOR = Actor(id="dev", name="Developer", kind=ActorKind.USER, role="dev")


async def current_actor(
    x_dev_actor: str | None = Header(
        default=None, max_length=64, description="dev mode: act as this user id"
    ),
) -> Actor:
    if not x_dev_actor:
        return DEV_ACTOR
    return Actor(id=x_dev_actor, name=x_dev_actor, kind=ActorKind.USER, role="dev")
