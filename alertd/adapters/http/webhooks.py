"""/v1/webhooks: admins' outbound webhook subscriptions and their delivery log.

POST   /v1/webhooks                                   subscribe (the secret is shown once)
GET    /v1/webhooks                                   the subscriptions you manage
GET    /v1/webhooks/{id}                              one
PATCH  /v1/webhooks/{id}                              change; `state: active` resumes it
DELETE /v1/webhooks/{id}                              unsubscribe
GET    /v1/webhooks/{id}/attempts                     its delivery log, newest first
POST   /v1/webhooks/{id}/attempts/{attempt}/redeliver send that message again (202)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import v1
from alertd.adapters.wire import webhooks as wire
from alertd.app.webhooks import SubscriptionChange, WebhookService
from alertd.core.errors import NotFound
from alertd.core.webhook import WebhookAttempt, WebhookSubscription

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

WebhookId = Annotated[str, Path(min_length=1, max_length=64)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": v1.ErrorBody, "description": "not signed in"},
    403: {"model": v1.ErrorBody, "description": "only admins manage webhooks"},
    404: {"model": v1.ErrorBody, "description": "no such webhook (or not yours)"},
    422: {"model": v1.ErrorBody, "description": "invalid input; `field` names it"},
}


def _service(ctx: HttpContext) -> WebhookService:
    if ctx.webhooks is None:
        raise NotFound("webhooks", "webhooks")
    return ctx.webhooks


def _json(subscription: WebhookSubscription) -> dict[str, Any]:
    schools = subscription.school_ids
    return {
        "id": subscription.id,
        "url": subscription.url,
        "event_types": sorted(subscription.event_types),
        "school_ids": sorted(schools) if schools is not None else None,
        "description": subscription.description,
        "state": subscription.state.value,
        "consecutive_failures": subscription.consecutive_failures,
        "last_error": subscription.last_error,
        "created_at": subscription.created_at,
    }


def _attempt_json(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "message_id": attempt.message_id,
        "event_id": attempt.event_id,
        "event_type": attempt.event_type,
        "attempted_at": attempt.attempted_at,
        "outcome": attempt.outcome.value,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "duration_ms": attempt.duration_ms,
        "manual": attempt.manual,
    }


@router.post(
    "",
    status_code=201,
    response_model=wire.WebhookCreated,
    responses=_ERRORS,
    summary="Subscribe an endpoint to events",
)
async def create(body: wire.WebhookIn, ctx: Ctx, principal: Who) -> OrjsonResponse:
    created = await _service(ctx).create(
        principal,
        url=body.url,
        event_types=body.event_types,
        school_ids=body.school_ids,
        description=body.description,
        secret=body.secret,
    )
    return OrjsonResponse(_json(created) | {"secret": created.secret}, status_code=201)


@router.get("", response_model=wire.WebhookList, responses=_ERRORS, summary="Your webhooks")
async def list_webhooks(ctx: Ctx, principal: Who) -> OrjsonResponse:
    found = await _service(ctx).subscriptions(principal)
    return OrjsonResponse({"webhooks": [_json(s) for s in found]})


@router.get("/{webhook_id}", response_model=wire.WebhookOut, responses=_ERRORS, summary="One")
async def get(webhook_id: WebhookId, ctx: Ctx, principal: Who) -> OrjsonResponse:
    return OrjsonResponse(_json(await _service(ctx).get(principal, webhook_id)))


@router.patch(
    "/{webhook_id}",
    response_model=wire.WebhookOut,
    responses=_ERRORS,
    summary="Change a webhook; state active resumes a paused one",
)
async def change(
    webhook_id: WebhookId, body: wire.WebhookChangeIn, ctx: Ctx, principal: Who
) -> OrjsonResponse:
    changed = await _service(ctx).change(
        principal,
        webhook_id,
        SubscriptionChange(
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            state=body.state,
        ),
    )
    return OrjsonResponse(_json(changed))


@router.delete("/{webhook_id}", status_code=204, responses=_ERRORS, summary="Unsubscribe")
async def delete(webhook_id: WebhookId, ctx: Ctx, principal: Who) -> Response:
    await _service(ctx).delete(principal, webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/attempts",
    response_model=wire.WebhookAttemptList,
    responses=_ERRORS,
    summary="The delivery log: every attempt, newest first",
)
async def attempts(
    webhook_id: WebhookId,
    ctx: Ctx,
    principal: Who,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, description="attempt ids below this")] = None,
) -> OrjsonResponse:
    found = await _service(ctx).attempts(principal, webhook_id, limit=limit, before=before)
    return OrjsonResponse({"attempts": [_attempt_json(a) for a in found]})


@router.post(
    "/{webhook_id}/attempts/{attempt_id}/redeliver",
    status_code=202,
    response_model=wire.RedeliveryOut,
    responses=_ERRORS,
    summary="Send a logged message again (the same webhook-id)",
)
async def redeliver(
    webhook_id: WebhookId,
    attempt_id: Annotated[int, Path(ge=1)],
    ctx: Ctx,
    principal: Who,
) -> OrjsonResponse:
    effect = await _service(ctx).redeliver(principal, webhook_id, attempt_id)
    return OrjsonResponse({"message_id": effect.message_id, "queued": True}, status_code=202)
