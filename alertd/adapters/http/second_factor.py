"""The TOTP second factor, for dispatchers and admins: enrol, then confirm with a code.

POST /v1/auth/totp          returns the secret and otpauth URI, once
POST /v1/auth/totp/confirm  with a first valid code: from then on login needs a code
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from starlette.responses import Response

from alertd.adapters.auth import totp
from alertd.adapters.auth.users import (
    UserRecord,
    activate_second_factor,
    find_user,
    set_pending_second_factor,
)
from alertd.adapters.db.audit import append_audit
from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.login import json_answer
from alertd.core.audit import AuditEntry
from alertd.core.errors import Forbidden, ValidationFailed
from alertd.core.permission import Action, Principal, Verdict, authorize

router = APIRouter(tags=["auth"])


class SecondFactorEnrolment(BaseModel):
    secret: str
    otpauth_uri: str


class SecondFactorCode(BaseModel):
    code: str = Field(min_length=6, max_length=10)


@router.post(
    "/auth/totp",
    response_model=SecondFactorEnrolment,
    summary="Enrol in the TOTP second factor; confirm with /v1/auth/totp/confirm",
)
async def enrol_second_factor(ctx: Ctx, principal: Who) -> Response:
    _may_enrol(principal)
    user = await _user_of(ctx, principal)
    if user.totp_secret is not None:
        raise Forbidden("the second factor is already on; an admin can reset it")
    secret = totp.new_secret()
    now = ctx.clock.now()

    def enrol(conn: Connection) -> None:
        set_pending_second_factor(conn, user.id, secret)
        append_audit(conn, [_entry(principal, "auth.totp_enrol", now=now)])

    async with ctx.db.write() as session:
        await session.run(enrol)
    uri = totp.provisioning_uri(secret, account=user.email)
    return json_answer({"secret": secret, "otpauth_uri": uri})


@router.post(
    "/auth/totp/confirm", status_code=204, summary="Turn the second factor on with a first code"
)
async def confirm_second_factor(body: SecondFactorCode, ctx: Ctx, principal: Who) -> Response:
    _may_enrol(principal)
    user = await _user_of(ctx, principal)
    pending = user.totp_pending_secret
    if pending is None:
        raise ValidationFailed("code", "enrol first: POST /v1/auth/totp")
    now = ctx.clock.now()
    if not totp.verify_code(pending, body.code, now=now):
        raise ValidationFailed("code", "the code is wrong or too old")

    def confirm(conn: Connection) -> None:
        activate_second_factor(conn, user.id, pending)
        append_audit(conn, [_entry(principal, "auth.totp_enabled", now=now)])

    async with ctx.db.write() as session:
        await session.run(confirm)
    return Response(status_code=204)


def _may_enrol(principal: Principal) -> None:
    if authorize(principal, Action.ENROL_SECOND_FACTOR) is not Verdict.ALLOW:
        raise Forbidden("the second factor is for dispatchers and admins")


async def _user_of(ctx: HttpContext, principal: Principal) -> UserRecord:
    user = await ctx.db.read(lambda conn: find_user(conn, principal.actor.id))
    if not isinstance(user, UserRecord):
        raise Forbidden("only people sign in with a second factor")
    return user


def _entry(principal: Principal, action: str, *, now: datetime) -> AuditEntry:
    return AuditEntry.by(principal, action, at=now)
