"""Twilio's webhooks: status callbacks, inbound texts and key presses on alert calls.

    POST /v1/twilio/status         MessageStatus / CallStatus of a message alertd sent
    POST /v1/twilio/sms            a text to one of alertd's numbers (replies: 1, ACK, STOP)
    POST /v1/twilio/voice/gather   the digit pressed during an alert call

No sign-in: each request must carry a valid `X-Twilio-Signature` for the public URL
(`ALERTD_PUBLIC_URL` + path) under the account's auth token (or the second token, during a
rotation). A bad or missing signature is answered 403 and changes nothing. Answers to the
last two are TwiML.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response
from twilio.twiml.voice_response import VoiceResponse

from alertd.adapters.http.deps import Ctx
from alertd.adapters.twilio.errors import reason_for
from alertd.adapters.twilio.gateway import GATHER_PATH, INBOUND_SMS_PATH, STATUS_PATH
from alertd.adapters.twilio.status import CALL_REASONS, CALL_STATES, MESSAGE_STATES
from alertd.app.inbound import ReplyOutcome
from alertd.core.errors import Forbidden

logger = logging.getLogger(__name__)
router = APIRouter(tags=["twilio webhooks"])

_TWIML = "application/xml"
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


async def signed_form(request: Request, ctx: Ctx) -> FormData:
    """The POST parameters, once the signature has been checked against the public URL."""
    form = await request.form()
    url = ctx.twilio.verifier.public_url(request.url.path, request.url.query)
    params = {k: str(v) for k, v in form.multi_items()}
    signature = request.headers.get("X-Twilio-Signature")
    if not ctx.twilio.verifier.verify(url, params, signature):
        ctx.metrics.webhooks_refused.inc()
        logger.warning("refused a Twilio webhook to %s: bad or missing signature", request.url.path)
        raise Forbidden("bad or missing X-Twilio-Signature")
    return form


Signed = Annotated[FormData, Depends(signed_form)]


def _code(value: object) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


@router.post(STATUS_PATH, status_code=204, summary="Twilio status callback (signed)")
async def status_callback(form: Signed, ctx: Ctx) -> Response:
    code = _code(form.get("ErrorCode"))
    if form.get("MessageSid"):
        channel, ref = "sms", str(form["MessageSid"])
        status = str(form.get("MessageStatus") or form.get("SmsStatus") or "")
        state = MESSAGE_STATES.get(status)
        reason = reason_for(code)
    else:
        channel, ref = "voice", str(form.get("CallSid") or "")
        status = str(form.get("CallStatus") or "")
        state = CALL_STATES.get(status)
        reason = reason_for(code) or CALL_REASONS.get(status)
    if state is None or not ref:
        return Response(status_code=204)  # queued, sending, ringing ...: nothing to record
    reported = await ctx.twilio.inbound.delivery_reported(
        ref, state, error_code=code, reason=reason
    )
    if reported.delivery is not None:
        ctx.metrics.deliveries.labels(channel, state.value).inc()
        if state.value in ("undelivered", "failed"):
            cause = str(code) if code is not None else status
            ctx.metrics.delivery_failures.labels(channel, cause).inc()
    return Response(status_code=204)


@router.post(INBOUND_SMS_PATH, summary="A text to one of alertd's numbers (signed)")
async def inbound_sms(form: Signed, ctx: Ctx) -> Response:
    outcome = await ctx.twilio.inbound.text_received(
        sender=str(form.get("From") or ""), body=str(form.get("Body") or "")
    )
    ctx.metrics.replies.labels(outcome.value).inc()
    return Response(_EMPTY_TWIML, media_type=_TWIML)


@router.post(GATHER_PATH, summary="The key pressed during an alert call (signed)")
async def voice_gather(form: Signed, ctx: Ctx) -> Response:
    outcome = await ctx.twilio.inbound.key_pressed(
        call_ref=str(form.get("CallSid") or ""), digits=str(form.get("Digits") or "")
    )
    ctx.metrics.replies.labels(outcome.value).inc()
    answer = VoiceResponse()
    if outcome in (ReplyOutcome.ACKNOWLEDGED, ReplyOutcome.ALREADY_ACKNOWLEDGED):
        answer.say("Acknowledged. Thank you.")
    else:
        answer.say("Not acknowledged. Press 1 to acknowledge.")
    return Response(str(answer), media_type=_TWIML)
