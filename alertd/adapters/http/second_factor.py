"""The TOTP second factor, for dispatchers and admins: enrol, then confirm with a code.

POST /v1/auth/totp          returns the secret and otpauth URI, once
POST /v1/auth/totp/confirm  with a first valid code: from then on login needs a code
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from alertd.adapters.http.deps import Ctx, Who
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import accounts as wire

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/totp",
    response_model=wire.SecondFactorEnrolment,
    summary="Enrol in the TOTP second factor; confirm with /v1/auth/totp/confirm",
)
async def enrol_second_factor(ctx: Ctx, principal: Who) -> Response:
    enrolment = await ctx.signin.enrol_second_factor(principal=principal)
    answer = wire.SecondFactorEnrolment(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)
    return OrjsonResponse(answer.model_dump())


@router.post(
    "/auth/totp/confirm", status_code=204, summary="Turn the second factor on with a first code"
)
async def confirm_second_factor(body: wire.SecondFactorCode, ctx: Ctx, principal: Who) -> Response:
    await ctx.signin.confirm_second_factor(body.code, principal=principal)
    return Response(status_code=204)
