"""Signing in, as rules: back-off after failures, and one-time codes that stay one-time. Pure.

A login is checked in this order: back-off (the password is not even checked while the
username waits), the password, whether the account is enabled, then the second factor if the
account has one. Every refusal counts towards back-off.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

FREE_FAILURES = 3  # mistakes allowed before any waiting
MAX_WAIT_SECONDS = 300
FORGET_AFTER = timedelta(hours=1)  # a quiet hour wipes the slate
WRONG_CREDENTIALS = "wrong username or password"
SECOND_FACTOR_NEEDED = "a valid second-factor code is required"
API_KEY_PREFIX = "ak_"


@dataclass(frozen=True, slots=True)
class FailureRecord:
    count: int
    last_at: datetime


def seconds_to_wait(record: FailureRecord | None, *, now: datetime) -> int:
    """Whole seconds the username must wait before its next login attempt is checked.

    0 for the first FREE_FAILURES failures, then 2**(n - FREE_FAILURES) seconds after the
    last failure, capped at MAX_WAIT_SECONDS.
    """
    if record is None or record.count <= FREE_FAILURES:
        return 0
    wait = min(2 ** min(record.count - FREE_FAILURES, 16), MAX_WAIT_SECONDS)
    remaining = (record.last_at + timedelta(seconds=wait) - now).total_seconds()
    return max(0, math.ceil(remaining))


def next_failure_count(record: FailureRecord | None, *, now: datetime) -> int:
    """The failure count after one more failure at `now` (old failures are forgotten)."""
    if record is None or now - record.last_at >= FORGET_AFTER:
        return 1
    return record.count + 1


def normalize_username(username: str) -> str:
    """Usernames are e-mail addresses: compared without case or surrounding space."""
    return username.strip().lower()[:254]


def code_is_fresh(step: int, *, last_used_step: int | None) -> bool:
    """A TOTP code matched at time step `step` may be used only if no code of that step or a
    later one was used before: a code, once used, is spent (RFC 6238, section 5.2)."""
    return last_used_step is None or step > last_used_step


def fingerprint(secret_value: str) -> str:
    """The sha256 hex digest under which refresh tokens and API keys are stored.

    (These are long random strings, so a fast hash suffices; no salt is needed.)
    """
    return hashlib.sha256(secret_value.encode()).hexdigest()
