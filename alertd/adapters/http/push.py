"""/v1/push: the VAPID key, and the caller's Web Push subscriptions (one per device).

GET    /v1/push/key                          the application server key to subscribe with
PUT    /v1/push/subscriptions/{device_id}    store (or replace) this device's subscription
DELETE /v1/push/subscriptions/{device_id}    forget it
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import push as wire
from alertd.app.push import PushService
from alertd.core.errors import NotFound

router = APIRouter(prefix="/v1/push", tags=["push"])

DeviceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _service(ctx: HttpContext) -> PushService:
    if ctx.push is None:
        raise NotFound("push service", "web push")
    return ctx.push


@router.get("/key", response_model=wire.PushKeyOut, summary="The VAPID public key")
async def public_key(ctx: Ctx, _principal: Who) -> OrjsonResponse:
    return OrjsonResponse({"public_key": _service(ctx).public_key})


@router.put(
    "/subscriptions/{device_id}",
    response_model=wire.PushSubscriptionOut,
    summary="Subscribe this device of the caller to Web Push",
)
async def subscribe(
    device_id: DeviceId, body: wire.PushSubscriptionIn, ctx: Ctx, principal: Who
) -> OrjsonResponse:
    saved = await _service(ctx).subscribe(
        principal,
        device_id=device_id,
        endpoint=body.endpoint,
        p256dh=body.keys.p256dh,
        auth=body.keys.auth,
    )
    return OrjsonResponse({"device_id": saved.device_id, "endpoint": saved.endpoint})


@router.delete("/subscriptions/{device_id}", status_code=204, summary="Unsubscribe this device")
async def unsubscribe(device_id: DeviceId, ctx: Ctx, principal: Who) -> Response:
    if not await _service(ctx).unsubscribe(principal, device_id=device_id):
        raise NotFound("push subscription", device_id)
    return Response(status_code=204)
