"""Signing in: OAuth2 password login, refresh tokens, console sessions with CSRF protection,
the TOTP second factor, and the authenticators `current_principal` tries.

    POST /v1/auth/token         OAuth2 form; grant_type password (default) or refresh_token
    POST /v1/auth/session       console sign-in: HttpOnly session cookie + CSRF token
    GET  /v1/auth/me            who is signed in (the console shows it)
    POST /v1/auth/logout        clears the cookies; revokes a refresh token if one is sent
    POST /v1/auth/totp          enrol in the second factor (dispatchers and admins)
    POST /v1/auth/totp/confirm  turn it on with a first valid code

Answers never repeat a password, token or key. A failed login does not say which part was
wrong. After repeated failures a username is in back-off: the next attempts get 429 with
Retry-After, and the password is not even checked.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection
from starlette.requests import HTTPConnection
from starlette.responses import Response

from alertd.adapters.auth.tokens import (
    TokenType,
    decode_token,
    issue_refresh_token,
    issue_token,
    keyed_digest,
    revoke_refresh_token,
)
from alertd.adapters.auth.users import (
    find_user,
    load_principal,
    principal_for_api_key,
)
from alertd.adapters.db.audit import append_audit
from alertd.adapters.http import second_factor, users
from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.login import (
    TokenAnswer,
    check_login,
    json_answer,
    record_login,
    refresh,
    secret_of,
    token_answer,
)
from alertd.core.audit import AuditEntry
from alertd.core.errors import Forbidden, Unauthenticated, ValidationFailed
from alertd.core.permission import Principal

router = APIRouter(prefix="/v1", tags=["auth"])
router.include_router(users.router)
router.include_router(second_factor.router)


SESSION_COOKIE = "alertd_session"
CSRF_COOKIE = "alertd_csrf"
CSRF_HEADER = "X-CSRF-Token"
API_KEY_HEADER = "X-API-Key"
SESSION_LIFETIME = timedelta(hours=12)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SessionAnswer(BaseModel):
    csrf_token: str = Field(description=f"Send it back as {CSRF_HEADER} on unsafe requests.")


# --- the authenticators ---------------------------------------------------------------------


async def authenticate_bearer(connection: HTTPConnection, ctx: HttpContext) -> Principal | None:
    """`Authorization: Bearer <jwt>`; on WebSockets also `?access_token=<jwt>`."""
    token = _bearer_token(connection)
    if token is None:
        return None
    claims = decode_token(
        token, secret=secret_of(ctx), token_type=TokenType.ACCESS, now=ctx.clock.now()
    )
    return await _principal_or_refuse(ctx, claims.user_id)


async def authenticate_session(connection: HTTPConnection, ctx: HttpContext) -> Principal | None:
    """The console's session cookie. Unsafe HTTP methods also need the CSRF header.

    Raises:
        Unauthenticated: the cookie is forged or expired, or its user is disabled.
        Forbidden: an unsafe request without the matching CSRF token.
    """
    cookie = connection.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    claims = decode_token(
        cookie, secret=secret_of(ctx), token_type=TokenType.SESSION, now=ctx.clock.now()
    )
    if connection.scope["type"] == "http" and connection.scope["method"] in UNSAFE_METHODS:
        sent = connection.headers.get(CSRF_HEADER, "")
        kept = connection.cookies.get(CSRF_COOKIE, "")
        same = hmac.compare_digest(sent.encode(), kept.encode())
        if not (sent and same and _csrf_valid(ctx, sent, session_id=claims.token_id)):
            raise Forbidden("csrf token missing or wrong")
    return await _principal_or_refuse(ctx, claims.user_id)


async def authenticate_api_key(connection: HTTPConnection, ctx: HttpContext) -> Principal | None:
    """`X-API-Key: ak_...`: the key acts as the user it was issued for."""
    key = connection.headers.get(API_KEY_HEADER)
    if not key:
        return None
    principal = await ctx.db.read(lambda conn: principal_for_api_key(conn, key))
    if principal is None:
        raise Unauthenticated("the API key is not valid")
    assert isinstance(principal, Principal)
    return principal


# --- signing in ----------------------------------------------------------------------------


@router.post(
    "/auth/token",
    response_model=TokenAnswer,
    summary="Sign in (OAuth2 password grant) or spend a refresh token",
    responses={401: {"description": "wrong credentials"}, 429: {"description": "back-off"}},
)
async def token(
    ctx: Ctx,
    grant_type: Annotated[str, Form()] = "password",
    username: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    totp_code: Annotated[str, Form(max_length=16)] = "",
    refresh_token: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    if grant_type == "refresh_token":
        if not refresh_token:
            raise ValidationFailed("refresh_token", "required for grant_type refresh_token")
        return await refresh(ctx, refresh_token)
    if grant_type != "password":
        raise ValidationFailed("grant_type", "must be password or refresh_token")
    outcome = await check_login(ctx, username, password, totp_code)
    if isinstance(outcome, Response):
        return outcome
    lifetime = timedelta(days=ctx.settings.refresh_token_days)
    now = ctx.clock.now()

    def issue(conn: Connection) -> str:
        record_login(conn, ctx, outcome, channel="token")
        return issue_refresh_token(conn, user_id=outcome.user.id, now=now, lifetime=lifetime)

    async with ctx.db.write() as session:
        new_refresh = await session.run(issue)
    return token_answer(ctx, outcome.user, new_refresh)


@router.post(
    "/auth/session",
    response_model=SessionAnswer,
    summary="Console sign-in: sets the session and CSRF cookies (JSON or form body)",
)
async def open_session(request: Request, ctx: Ctx) -> Response:
    fields = await _fields_of(request)
    outcome = await check_login(
        ctx, fields.get("username", ""), fields.get("password", ""), fields.get("totp_code", "")
    )
    if isinstance(outcome, Response):
        return outcome
    async with ctx.db.write() as session:
        await session.run(lambda conn: record_login(conn, ctx, outcome, channel="session"))
    now = ctx.clock.now()
    cookie = issue_token(
        secret=secret_of(ctx),
        user_id=outcome.user.id,
        role=outcome.user.role.value,
        token_type=TokenType.SESSION,
        now=now,
        lifetime=SESSION_LIFETIME,
    )
    session_id = decode_token(
        cookie, secret=secret_of(ctx), token_type=TokenType.SESSION, now=now
    ).token_id
    csrf = _new_csrf(ctx, session_id=session_id)
    response = json_answer({"csrf_token": csrf})
    secure = not ctx.settings.dev_mode
    max_age = int(SESSION_LIFETIME.total_seconds())
    for name, value, http_only in ((SESSION_COOKIE, cookie, True), (CSRF_COOKIE, csrf, False)):
        response.set_cookie(
            name, value, max_age=max_age, httponly=http_only, secure=secure, samesite="strict"
        )
    return response


@router.get("/auth/me", summary="Who is signed in: name, role and schools")
async def whoami(principal: Who) -> Response:
    schools = sorted(principal.school_ids) if principal.school_ids is not None else None
    return json_answer(
        {
            "id": principal.actor.id,
            "name": principal.actor.name,
            "role": principal.role.value,
            "school_ids": schools,
        }
    )


@router.post("/auth/logout", status_code=204, summary="Sign out: clear cookies, revoke a token")
async def logout(request: Request, ctx: Ctx) -> Response:
    fields = await _fields_of(request)
    now = ctx.clock.now()
    session_user: str | None = None
    if cookie := request.cookies.get(SESSION_COOKIE):
        try:
            claims = decode_token(
                cookie, secret=secret_of(ctx), token_type=TokenType.SESSION, now=now
            )
            session_user = claims.user_id
        except Unauthenticated:
            pass  # an expired or forged cookie is cleared all the same
    refresh = fields.get("refresh_token", "")

    def sign_out(conn: Connection) -> None:
        user_ids = {session_user} if session_user else set()
        if refresh and (owner := revoke_refresh_token(conn, refresh, now=now)):
            user_ids.add(owner)
        entries = []
        for user_id in sorted(user_ids):
            user = find_user(conn, user_id)
            role = user.role.value if user else "unknown"
            entries.append(
                AuditEntry(at=now, actor_id=user_id, actor_role=role, action="auth.logout")
            )
        if entries:
            append_audit(conn, entries)

    async with ctx.db.write() as session:
        await session.run(sign_out)
    response = Response(status_code=204)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, secure=not ctx.settings.dev_mode, samesite="strict")
    return response


# --- small pieces --------------------------------------------------------------------------


def _bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if connection.scope["type"] == "websocket":
        return connection.query_params.get("access_token") or None
    return None


async def _principal_or_refuse(ctx: HttpContext, user_id: str) -> Principal:
    principal = await ctx.db.read(lambda conn: load_principal(conn, user_id))
    if principal is None:
        raise Unauthenticated("this account cannot sign in")
    assert isinstance(principal, Principal)
    return principal


def _new_csrf(ctx: HttpContext, *, session_id: str) -> str:
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{keyed_digest(secret_of(ctx), f'csrf:{session_id}:{nonce}')}"


def _csrf_valid(ctx: HttpContext, csrf: str, *, session_id: str) -> bool:
    nonce, _, digest = csrf.partition(".")
    expected = keyed_digest(secret_of(ctx), f"csrf:{session_id}:{nonce}")
    return hmac.compare_digest(digest.encode(), expected.encode())


async def _fields_of(request: Request) -> dict[str, str]:
    """The string fields of a JSON object or form body (empty when there is no body)."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        try:
            data: Any = await request.json()
        except ValueError:
            raise ValidationFailed("body", "not valid JSON") from None
        if not isinstance(data, dict):
            raise ValidationFailed("body", "must be a JSON object")
        return {k: v for k, v in data.items() if isinstance(v, str)}
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return {}
