"""Sealing small secrets at rest (TOTP secrets, OpenID Connect client secrets) with AES-GCM,
under a key derived from ALERTD_SECRET_KEY, which the database does not hold.

A sealed value reads `v1:<base64url(nonce + ciphertext + tag)>`; its purpose is the
associated data, so a value sealed for one column does not open for another. Values stored
before sealing existed (plain base32 TOTP secrets) open as they are and are sealed when next
written. Changing ALERTD_SECRET_KEY makes sealed values unreadable: second factors must then
be reset, and single sign-on secrets entered again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1:"
_KEY_LABEL = b"alertd.secret-box.v1"


class AesGcmBox:
    """Implements `alertd.app.account_ports.SecretBox`."""

    def __init__(self, server_key: str) -> None:
        key = hmac.new(server_key.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "AesGcmBox()"

    def seal(self, plaintext: str, *, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), purpose.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, *, purpose: str) -> str:
        if not sealed.startswith(PREFIX):
            return sealed  # stored before sealing existed
        raw = base64.urlsafe_b64decode(sealed.removeprefix(PREFIX).encode("ascii"))
        try:
            return self._aead.decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except InvalidTag:
            raise ValueError("sealed with another key or for another purpose") from None
