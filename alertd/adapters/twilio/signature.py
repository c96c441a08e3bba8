"""Checking `X-Twilio-Signature` on webhooks: the SDK's algorithm, a constant-time compare.

The signature covers the exact URL Twilio called (behind a proxy: the public one, which is
why it is built from `ALERTD_PUBLIC_URL`, never from the request's Host) and the POST
parameters. During a rotation of the auth token, the old and the new one are both accepted.
Every token is checked, whatever the first answered, so the time taken does not tell which.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import urlparse

from twilio.request_validator import RequestValidator, add_port, remove_port


class WebhookVerifier:
    def __init__(self, *, tokens: Sequence[str], public_url: str) -> None:
        self._validators = [RequestValidator(t) for t in tokens if t]
        self._public_url = public_url.rstrip("/")

    @property
    def configured(self) -> bool:
        return bool(self._validators)

    def public_url(self, path: str, query: str = "") -> str:
        """The URL Twilio called, as it sees it."""
        return self._public_url + path + (f"?{query}" if query else "")

    def verify(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        """True only if `signature` is the signature of `url` and `params` under one of
        the tokens (with or without the URL's default port, as Twilio may sign either)."""
        if not signature or not self._validators:
            return False
        parsed = urlparse(url)
        candidates = (remove_port(parsed), add_port(parsed))
        given = signature.encode()
        valid = False
        for validator in self._validators:
            for candidate in candidates:
                expected = validator.compute_signature(candidate, params).encode()
                valid |= hmac.compare_digest(expected, given)
        return valid
