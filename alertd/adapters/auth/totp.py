"""Time-based one-time passwords (RFC 6238) as the optional second factor (pyotp)."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

ISSUER = "alertd"
DRIFT_STEPS = 1  # accept one 30 s step either way for clock drift


class TotpCodes:
    """Implements `alertd.app.account_ports.OneTimeCodes`."""

    def new_secret(self) -> str:
        """A fresh base32 secret, to show the user once (as a QR code of the URI)."""
        return pyotp.random_base32()

    def provisioning_uri(self, secret: str, *, account: str) -> str:
        """The otpauth:// URI authenticator apps read."""
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)

    def matching_step(self, secret: str, code: str, *, now: datetime) -> int | None:
        """The time step at which `code` is right, or None. Every candidate is compared in
        constant time."""
        code = code.strip().replace(" ", "")
        if not (code.isascii() and code.isdigit()):
            return None
        totp = pyotp.TOTP(secret)
        current = totp.timecode(now)
        matched = None
        for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                matched = step
        return matched
