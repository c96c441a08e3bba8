"""Camera view tokens (`alertd.app.camera_ports.ViewTokens`): short-lived JWTs (HS256)
carrying a `core.camera.ViewGrant`. Typed "camera_view" and signed under a key derived for
this purpose only, so that no other token of alertd is accepted as one, nor one as another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import jwt

from alertd.core.camera import ViewGrant
from alertd.core.errors import Unauthenticated

_TYPE = "camera_view"
_REQUIRED = ["sub", "role", "cam", "sch", "typ", "iat", "exp", "jti"]


class JwtViewTokens:
    def __init__(self, server_key: str) -> None:
        self._key = hmac.new(server_key.encode(), b"alertd.camera-view.v1", hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "JwtViewTokens()"

    def issue(self, grant: ViewGrant, *, now: datetime) -> str:
        claims = {
            "sub": grant.actor_id,
            "role": grant.role,
            "cam": grant.camera_id,
            "sch": grant.school_id,
            "typ": _TYPE,
            "iat": int(now.timestamp()),
            "exp": int(grant.expires_at.timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def read(self, token: str) -> ViewGrant:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                # Expiry is judged against the app's clock (core.camera.check_grant).
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False},
            )
            if claims["typ"] != _TYPE:
                raise Unauthenticated("not a camera view token", field="Authorization")
            return ViewGrant(
                actor_id=str(claims["sub"]),
                role=str(claims["role"]),
                camera_id=str(claims["cam"]),
                school_id=str(claims["sch"]),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
                token_id=str(claims["jti"]),
            )
        except (jwt.InvalidTokenError, TypeError, ValueError, OverflowError):
            raise Unauthenticated(
                "send a camera view token: Authorization: Bearer <token>", field="Authorization"
            ) from None
