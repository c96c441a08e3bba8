"""Time-based one-time passwords (RFC 6238) as the optional second factor."""

from __future__ import annotations

from datetime import datetime

import pyotp

ISSUER = "alertd"


def new_secret() -> str:
    """A fresh base32 secret, to show the user once (as a QR code of `provisioning_uri`)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str) -> str:
    """The otpauth:// URI authenticator apps read."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def verify_code(secret: str, code: str, *, now: datetime) -> bool:
    """Whether `code` is right at `now`, allowing one 30 s step either way for clock drift."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit()):
        return False
    return pyotp.TOTP(secret).verify(code, for_time=now, valid_window=1)
