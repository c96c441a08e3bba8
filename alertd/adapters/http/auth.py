"""Signing in and out over HTTP, and the authenticators `current_principal` tries.

    POST /v1/auth/token         OAuth2 form; grant_type password (default) or refresh_token
    POST /v1/auth/session       console sign-in: HttpOnly session cookie + CSRF token
    GET  /v1/auth/me            who is signed in (the console shows it)
    POST /v1/auth/logout        clears the cookies; revokes a refresh token if one is sent
    POST /v1/auth/sign-out-everywhere   ends every session and token of the caller
    POST /v1/auth/totp          enrol in the second factor (dispatchers and admins)
    POST /v1/auth/totp/confirm  turn it on with a first valid code

The login flow lives in `alertd.app.signin`. Answers never repeat a password, token or key.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.requests import HTTPConnection
from starlette.responses import Response

from alertd.adapters.auth.tokens import TokenType, decode_token
from alertd.adapters.http import second_factor, sso
from alertd.adapters.http.deps import Ctx, HttpContext, Who
from alertd.adapters.http.login import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    close_session,
    csrf_valid,
    open_session,
    secret_of,
    token_answer,
)
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire import accounts as wire
from alertd.adapters.wire.v1 import ErrorBody
from alertd.core.errors import Forbidden, Unauthenticated, ValidationFailed
from alertd.core.permission import Principal

router = APIRouter(prefix="/v1", tags=["auth"])
router.include_router(second_factor.router)
router.include_router(sso.router)

API_KEY_HEADER = "X-API-Key"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "wrong credentials (`field` names a missing code)"},
    429: {"model": ErrorBody, "description": "back-off: wait Retry-After seconds"},
}


# --- the authenticators ---------------------------------------------------------------------


async def authenticate_bearer(connection: HTTPConnection, ctx: HttpContext) -> Principal | None:
    """`Authorization: Bearer <jwt>`; on WebSockets also `?access_token=<jwt>`."""
    token = _bearer_token(connection)
    if token is None:
        return None
    claims = decode_token(
        token, secret=secret_of(ctx), token_type=TokenType.ACCESS, now=ctx.clock.now()
    )
    return await ctx.signin.principal_for_token(claims.user_id, token_epoch=claims.token_epoch)


async def authenticate_session(connection: HTTPConnection, ctx: HttpContext) -> Principal | None:
    """The console's session cookie. Unsafe HTTP methods also need the CSRF header.

    Raises:
        Unauthenticated: the cookie is forged or expired, its user disabled or signed out.
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
        if not (sent and same and csrf_valid(ctx, sent, session_id=claims.token_id)):
            raise Forbidden("csrf token missing or wrong")
    return await ctx.signin.principal_for_token(claims.user_id, token_epoch=claims.token_epoch)


async def authenticate_api_key(connection: HTTPConnection, ctx: HttpContext) -> Principal | None:
    """`X-API-Key: ak_...`: the key acts as the user it was issued for."""
    key = connection.headers.get(API_KEY_HEADER)
    if not key:
        return None
    return await ctx.signin.principal_for_api_key(key)


# --- signing in ----------------------------------------------------------------------------


@router.post(
    "/auth/token",
    response_model=wire.TokenAnswer,
    summary="Sign in (OAuth2 password grant) or spend a refresh token",
    responses=_REFUSALS,
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
        return token_answer(ctx, await ctx.signin.refresh(refresh_token))
    if grant_type != "password":
        raise ValidationFailed("grant_type", "must be password or refresh_token")
    signed = await ctx.signin.sign_in(
        username, password, totp_code, channel="token", with_refresh_token=True
    )
    return token_answer(ctx, signed)


@router.post(
    "/auth/session",
    response_model=wire.SessionAnswer,
    responses=_REFUSALS,
    summary="Console sign-in: sets the session and CSRF cookies (JSON or form body)",
)
async def session(request: Request, ctx: Ctx) -> Response:
    fields = await _fields_of(request)
    signed = await ctx.signin.sign_in(
        fields.get("username", ""),
        fields.get("password", ""),
        fields.get("totp_code", ""),
        channel="session",
        with_refresh_token=False,
    )
    return open_session(
        ctx, signed, lambda csrf: OrjsonResponse(wire.SessionAnswer(csrf_token=csrf).model_dump())
    )


@router.get("/auth/me", summary="Who is signed in: name, role and schools")
async def whoami(principal: Who) -> Response:
    schools = sorted(principal.school_ids) if principal.school_ids is not None else None
    return OrjsonResponse(
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
    session_user: str | None = None
    if cookie := request.cookies.get(SESSION_COOKIE):
        try:
            claims = decode_token(
                cookie, secret=secret_of(ctx), token_type=TokenType.SESSION, now=ctx.clock.now()
            )
            session_user = claims.user_id
        except Unauthenticated:
            pass  # an expired or forged cookie is cleared all the same
    await ctx.signin.sign_out(
        session_user_id=session_user, refresh_token=fields.get("refresh_token") or None
    )
    response = Response(status_code=204)
    close_session(ctx, response)
    return response


@router.post(
    "/auth/sign-out-everywhere",
    status_code=204,
    summary="End every session, access token and refresh token of the caller",
)
async def sign_out_everywhere(ctx: Ctx, principal: Who) -> Response:
    await ctx.accounts.sign_out_everywhere(principal.actor.id, principal=principal)
    response = Response(status_code=204)
    close_session(ctx, response)
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
