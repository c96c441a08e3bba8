"""Signed tokens (JWT, HS256): access tokens and console sessions.

Access tokens (typ "access") and console sessions (typ "session") are JWTs carrying the user
id (`sub`), role, the user's token epoch (`ep`), `iat`, `exp` and a random `jti`. They are
checked against the app's clock, so tests with a fake clock see them expire. The role in a
token is informative only: every request checks the account (`SignInService`), so a disabled
user, a changed role or a sign-out everywhere (which bumps the epoch) takes effect.

Refresh tokens are opaque random strings, kept as their sha256 (`alertd.app.signin`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

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
    token_epoch: int = 0


def issue_token(
    *,
    secret: str,
    user_id: str,
    role: str,
    token_type: TokenType,
    now: datetime,
    lifetime: timedelta,
    token_epoch: int = 0,
) -> str:
    """A signed JWT for `user_id`, valid from `now` for `lifetime`, of its token epoch."""
    claims = {
        "ep": token_epoch,
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
        token_epoch = int(claims.get("ep", 0))  # tokens from before epochs count as 0
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
        token_epoch=token_epoch,
    )


def keyed_digest(secret: str, message: str) -> str:
    """HMAC-SHA256 of `message` under `secret`, hex."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
