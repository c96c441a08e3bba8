"""Signed tokens (JWT, HS256) and opaque refresh tokens.

Access tokens (typ "access") and console sessions (typ "session") are JWTs carrying the user
id (`sub`), role, `iat`, `exp` and a random `jti`. They are checked against the app's clock,
so tests with a fake clock see them expire. The role in a token is informative only: every
request loads the user afresh, so a disabled user or a changed role takes effect at once.

Refresh tokens are random strings; only their sha256 is stored. Using one revokes it and
issues a new pair (rotation). Presenting a revoked one means it was copied: every refresh
token of that user is revoked, and the user signs in again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt
import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.db.schema import refresh_tokens
from alertd.core.errors import Unauthenticated

ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["sub", "role", "typ", "iat", "exp", "jti"]


class TokenType(StrEnum):
    ACCESS = "access"
    SESSION = "session"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    role: str
    token_type: TokenType
    token_id: str
    issued_at: datetime
    expires_at: datetime


def issue_token(
    *,
    secret: str,
    user_id: str,
    role: str,
    token_type: TokenType,
    now: datetime,
    lifetime: timedelta,
) -> str:
    """A signed JWT for `user_id`, valid from `now` for `lifetime`."""
    claims = {
        "sub": user_id,
        "role": role,
        "typ": token_type.value,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str, token_type: TokenType, now: datetime) -> TokenClaims:
    """The claims of a valid, unexpired token of `token_type`.

    Raises:
        Unauthenticated: bad signature, malformed, wrong type or expired. The message never
            includes the token.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            # Expiry is checked below against the app clock rather than time.time().
            options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        raise Unauthenticated("the token is not valid") from None
    if claims.get("typ") != token_type.value:
        raise Unauthenticated("the token is not valid here")
    try:
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        issued_at = datetime.fromtimestamp(int(claims["iat"]), UTC)
    except (TypeError, ValueError, OverflowError):
        raise Unauthenticated("the token is not valid") from None
    if now >= expires_at:
        raise Unauthenticated("the token has expired; sign in again or refresh it")
    return TokenClaims(
        user_id=str(claims["sub"]),
        role=str(claims["role"]),
        token_type=token_type,
        token_id=str(claims["jti"]),
        issued_at=issued_at,
        expires_at=expires_at,
    )


def fingerprint(secret_value: str) -> str:
    """The sha256 hex digest under which refresh tokens and API keys are stored.

    (These are long random strings, so a fast hash suffices; no salt is needed.)
    """
    return hashlib.sha256(secret_value.encode()).hexdigest()


def keyed_digest(secret: str, message: str) -> str:
    """HMAC-SHA256 of `message` under `secret`, hex."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


# --- refresh tokens (database steps) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rotated:
    user_id: str
    refresh_token: str  # the new one, to hand out once


@dataclass(frozen=True, slots=True)
class ReuseDetected:
    user_id: str


def issue_refresh_token(
    conn: Connection, *, user_id: str, now: datetime, lifetime: timedelta
) -> str:
    """Store a new refresh token for `user_id`; returns it (the only time it exists in clear)."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        refresh_tokens.insert().values(
            token_hash=fingerprint(token), user_id=user_id, expires_at=now + lifetime
        )
    )
    return token


def rotate_refresh_token(
    conn: Connection, token: str, *, now: datetime, lifetime: timedelta
) -> Rotated | ReuseDetected | None:
    """Spend `token`. Write step; the caller commits whatever it returns.

    Returns:
        Rotated: the token was live; it is now revoked and a new one is stored.
        ReuseDetected: the token had been used already; every token of its user is revoked.
        None: unknown or expired.
    """
    # FOR UPDATE (PostgreSQL): two requests spending the same token queue; the second sees
    # it revoked. SQLite's single writer orders them already.
    row = conn.execute(
        sa.select(refresh_tokens)
        .where(refresh_tokens.c.token_hash == fingerprint(token))
        .with_for_update()
    ).first()
    if row is None or _aware(row.expires_at) <= now:
        return None
    if row.revoked_at is not None:
        revoke_all_refresh_tokens(conn, user_id=row.user_id, now=now)
        return ReuseDetected(user_id=row.user_id)
    conn.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.token_hash == row.token_hash)
        .values(revoked_at=now)
    )
    new_token = issue_refresh_token(conn, user_id=row.user_id, now=now, lifetime=lifetime)
    return Rotated(user_id=row.user_id, refresh_token=new_token)


def revoke_refresh_token(conn: Connection, token: str, *, now: datetime) -> str | None:
    """Revoke one refresh token (logout); returns its user id, or None if unknown."""
    token_hash = fingerprint(token)
    user_id = conn.execute(
        sa.select(refresh_tokens.c.user_id).where(refresh_tokens.c.token_hash == token_hash)
    ).scalar()
    conn.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return user_id


def revoke_all_refresh_tokens(conn: Connection, *, user_id: str, now: datetime) -> None:
    conn.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
