"""Turning a sign-in (`alertd.app.signin.SignedIn`) into what a client keeps: a bearer token
with a refresh token, or the console's session cookie with its CSRF token.

The session cookie is HttpOnly and SameSite=Strict; the CSRF cookie is readable by the
console, which sends it back as X-CSRF-Token on unsafe requests. The CSRF token is bound to
the session (an HMAC of the session's id under the server key).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta

from starlette.responses import Response

from alertd.adapters.auth.tokens import TokenType, decode_token, issue_token, keyed_digest
from alertd.adapters.http.deps import HttpContext
from alertd.adapters.http.response import OrjsonResponse
from alertd.adapters.wire.accounts import TokenAnswer
from alertd.app.signin import SignedIn

SESSION_COOKIE = "alertd_session"
CSRF_COOKIE = "alertd_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_LIFETIME = timedelta(hours=12)


def secret_of(ctx: HttpContext) -> str:
    value: str = ctx.settings.secret_key.get_secret_value()
    return value


def token_answer(ctx: HttpContext, signed: SignedIn) -> Response:
    """The OAuth2 token answer: an access token and the new refresh token."""
    lifetime = timedelta(minutes=ctx.settings.access_token_minutes)
    access = issue_token(
        secret=secret_of(ctx),
        user_id=signed.account.id,
        role=signed.account.role.value,
        token_type=TokenType.ACCESS,
        now=ctx.clock.now(),
        lifetime=lifetime,
        token_epoch=signed.token_epoch,
    )
    assert signed.refresh_token is not None
    body = TokenAnswer(
        access_token=access,
        expires_in=int(lifetime.total_seconds()),
        refresh_token=signed.refresh_token,
    )
    # SecurityHeaders marks every /v1 answer Cache-Control: no-store: these carry tokens.
    return OrjsonResponse(body.model_dump())


def open_session(ctx: HttpContext, signed: SignedIn, answer: Callable[[str], Response]) -> Response:
    """`answer(csrf_token)`, with the session and CSRF cookies set on it."""
    now = ctx.clock.now()
    cookie = issue_token(
        secret=secret_of(ctx),
        user_id=signed.account.id,
        role=signed.account.role.value,
        token_type=TokenType.SESSION,
        now=now,
        lifetime=SESSION_LIFETIME,
        token_epoch=signed.token_epoch,
    )
    session_id = decode_token(
        cookie, secret=secret_of(ctx), token_type=TokenType.SESSION, now=now
    ).token_id
    csrf = new_csrf(ctx, session_id=session_id)
    response = answer(csrf)
    secure = not ctx.settings.dev_mode
    max_age = int(SESSION_LIFETIME.total_seconds())
    for name, value, http_only in ((SESSION_COOKIE, cookie, True), (CSRF_COOKIE, csrf, False)):
        response.set_cookie(
            name, value, max_age=max_age, httponly=http_only, secure=secure, samesite="strict"
        )
    return response


def close_session(ctx: HttpContext, response: Response) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, secure=not ctx.settings.dev_mode, samesite="strict")


def new_csrf(ctx: HttpContext, *, session_id: str) -> str:
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{keyed_digest(secret_of(ctx), f'csrf:{session_id}:{nonce}')}"


def csrf_valid(ctx: HttpContext, csrf: str, *, session_id: str) -> bool:
    nonce, _, digest = csrf.partition(".")
    expected = keyed_digest(secret_of(ctx), f"csrf:{session_id}:{nonce}")
    return hmac.compare_digest(digest.encode(), expected.encode())
