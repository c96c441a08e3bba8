"""The login check behind /v1/auth/token and /v1/auth/session, and token answers.

A login is checked in this order: back-off (429, password not checked), password (401
naming no part), then the second factor if the user has one (401 naming `totp_code`).
Every refusal is counted for back-off and audited, and committed before it is answered.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection
from starlette.responses import Response

from alertd.adapters.auth import backoff, passwords, totp
from alertd.adapters.auth.tokens import (
    ReuseDetected,
    Rotated,
    TokenType,
    issue_token,
    rotate_refresh_token,
)
from alertd.adapters.auth.users import UserRecord, find_user, find_user_by_email, set_password_hash
from alertd.adapters.db.audit import append_audit
from alertd.adapters.http.deps import HttpContext
from alertd.adapters.http.errors import error_response
from alertd.adapters.http.response import OrjsonResponse
from alertd.core.audit import AuditEntry
from alertd.core.errors import Unauthenticated, ValidationFailed

WRONG_CREDENTIALS = "wrong username or password"


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token stays valid.")
    refresh_token: str = Field(description="Single use: spending it returns a new pair.")


@dataclass(frozen=True, slots=True)
class VerifiedLogin:
    user: UserRecord
    username: str
    new_hash: str | None  # argon2 parameters moved on: store this hash instead


async def check_login(
    ctx: HttpContext, username: str, password: str, totp_code: str
) -> VerifiedLogin | Response:
    """Check a username, password and (if the user has one) second factor.

    Returns the verified user, or the refusal to send: 429 while the username is in
    back-off (the password is not checked), else 401 naming no part, or naming `totp_code`
    when only the second factor is missing or wrong. A refusal is recorded (failure count
    and audit) before it is returned.
    """
    if not username or not password:
        raise ValidationFailed("username" if not username else "password", "required")
    name = backoff.normalize_username(username)
    now = ctx.clock.now()

    def look_up(conn: Connection) -> tuple[backoff.FailureRecord | None, UserRecord | None]:
        return backoff.failures_of(conn, name), find_user_by_email(conn, name)

    failures, user = await ctx.db.read(look_up)
    wait = backoff.seconds_to_wait(failures, now=now)
    if wait:
        return _too_many(wait)
    if user is None:
        await asyncio.to_thread(passwords.spend_verify_time, password)
        return await _refuse(ctx, name, None, field=None)
    right = await asyncio.to_thread(passwords.verify_password, user.password_hash, password)
    if not right or user.disabled:
        return await _refuse(ctx, name, user, field=None)
    if user.totp_secret is not None:
        if not totp_code:
            return await _refuse(ctx, name, user, field="totp_code")
        if not totp.verify_code(user.totp_secret, totp_code, now=now):
            return await _refuse(ctx, name, user, field="totp_code")
    new_hash = None
    if passwords.needs_rehash(user.password_hash):
        new_hash = await asyncio.to_thread(passwords.hash_password, password)
    return VerifiedLogin(user=user, username=name, new_hash=new_hash)


async def _refuse(
    ctx: HttpContext, username: str, user: UserRecord | None, *, field: str | None
) -> Response:
    now = ctx.clock.now()
    reason = "second_factor" if field else "credentials"

    def record(conn: Connection) -> None:
        backoff.record_failure(conn, username, now=now)
        entry = AuditEntry(
            at=now,
            actor_id=user.id if user else "anonymous",
            actor_role=user.role.value if user else "anonymous",
            action="auth.login_failed",
            subject=username[:200],
            detail={"reason": reason},
        )
        append_audit(conn, [entry])

    async with ctx.db.write() as session:
        await session.run(record)
    if field:
        return _unauthenticated("a valid second-factor code is required", field=field)
    return _unauthenticated(WRONG_CREDENTIALS, field=None)


def record_login(conn: Connection, ctx: HttpContext, login: VerifiedLogin, *, channel: str) -> None:
    """Write step of a successful login: forget failures, upgrade the hash, audit."""
    backoff.clear_failures(conn, login.username)
    if login.new_hash is not None:
        set_password_hash(conn, login.user.id, login.new_hash)
    entry = AuditEntry(
        at=ctx.clock.now(),
        actor_id=login.user.id,
        actor_role=login.user.role.value,
        action="auth.login",
        detail={"channel": channel, "second_factor": login.user.totp_secret is not None},
    )
    append_audit(conn, [entry])


async def refresh(ctx: HttpContext, presented: str) -> Response:
    now = ctx.clock.now()
    lifetime = timedelta(days=ctx.settings.refresh_token_days)

    def spend(conn: Connection) -> tuple[Rotated | ReuseDetected | None, UserRecord | None]:
        outcome = rotate_refresh_token(conn, presented, now=now, lifetime=lifetime)
        if outcome is None:
            return None, None
        user = find_user(conn, outcome.user_id)
        role = user.role.value if user else "unknown"
        action = "auth.refresh" if isinstance(outcome, Rotated) else "auth.refresh_reused"
        entry = AuditEntry(at=now, actor_id=outcome.user_id, actor_role=role, action=action)
        append_audit(conn, [entry])
        return outcome, user

    async with ctx.db.write() as session:
        outcome, user = await session.run(spend)
    if isinstance(outcome, ReuseDetected):
        raise Unauthenticated("the refresh token was already used; sign in again")
    if not isinstance(outcome, Rotated) or user is None or user.disabled:
        raise Unauthenticated("the refresh token is not valid")
    return token_answer(ctx, user, outcome.refresh_token)


def token_answer(ctx: HttpContext, user: UserRecord, refresh_token: str) -> Response:
    lifetime = timedelta(minutes=ctx.settings.access_token_minutes)
    access = issue_token(
        secret=secret_of(ctx),
        user_id=user.id,
        role=user.role.value,
        token_type=TokenType.ACCESS,
        now=ctx.clock.now(),
        lifetime=lifetime,
    )
    body = TokenAnswer(
        access_token=access,
        expires_in=int(lifetime.total_seconds()),
        refresh_token=refresh_token,
    )
    return json_answer(body.model_dump())


def secret_of(ctx: HttpContext) -> str:
    value: str = ctx.settings.secret_key.get_secret_value()
    return value


def _unauthenticated(message: str, *, field: str | None) -> Response:
    response = error_response(401, Unauthenticated.code, message, field=field)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _too_many(wait: int) -> Response:
    message = f"too many failed sign-ins; try again in {wait} s"
    response = error_response(429, "too_many_attempts", message, retry_after=wait)
    response.headers["Retry-After"] = str(wait)
    return response


def json_answer(body: dict[str, Any]) -> Response:
    """A JSON answer. (SecurityHeaders marks every /v1 answer Cache-Control: no-store, which
    matters here: these answers carry tokens.)"""
    return OrjsonResponse(body)
