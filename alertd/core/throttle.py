"""Sending rates: a token bucket per sender, and the rate each kind of sender may use. Pure.

Carriers and Twilio take a message per second from a US long code, three from a toll-free
number and about a hundred from a short code; Twilio queues the excess for hours. So alertd
paces each sender itself: `reserve` books the next free slot of a sender's bucket and says
how long to wait for it, and a pool (`alertd.adapters.twilio.senders`) picks the sender
whose slot comes first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType


class SenderKind(StrEnum):
    LONG_CODE = "long_code"
    TOLL_FREE = "toll_free"
    SHORT_CODE = "short_code"
    MESSAGING_SERVICE = "messaging_service"  # Twilio spreads over the service's own pool


# Messages per second each kind of sender may send.
RATES: Mapping[SenderKind, float] = MappingProxyType(
    {
        SenderKind.LONG_CODE: 1.0,
        SenderKind.TOLL_FREE: 3.0,
        SenderKind.SHORT_CODE: 100.0,
        SenderKind.MESSAGING_SERVICE: 10.0,
    }
)
_TOLL_FREE_PREFIXES = ("+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888")


def sender_kind(sender: str) -> SenderKind:
    """What kind of sender a From value is: an MG... service SID, a 5-6 digit short code,
    a North American toll-free number, or else a long code."""
    if sender.startswith("MG"):
        return SenderKind.MESSAGING_SERVICE
    digits = sender.lstrip("+")
    if digits.isdigit() and 5 <= len(digits) <= 6:
        return SenderKind.SHORT_CODE
    if sender.startswith(_TOLL_FREE_PREFIXES):
        return SenderKind.TOLL_FREE
    return SenderKind.LONG_CODE


@dataclass(frozen=True, slots=True)
class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up. `tokens` may go below zero:
    those are slots already booked ahead of `at`."""

    rate: float
    burst: float
    tokens: float
    at: datetime

    @classmethod
    def full(cls, rate: float, *, now: datetime, burst: float = 1.0) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=burst, at=now)

    def refilled(self, now: datetime) -> TokenBucket:
        elapsed = max(0.0, (now - self.at).total_seconds())
        tokens = min(self.burst, self.tokens + elapsed * self.rate)
        return replace(self, tokens=tokens, at=max(now, self.at))

    def wait(self, now: datetime) -> timedelta:
        """How long the next reservation made now would wait."""
        tokens = self.refilled(now).tokens
        return timedelta(0) if tokens >= 1 else timedelta(seconds=(1 - tokens) / self.rate)


def reserve(bucket: TokenBucket, *, now: datetime) -> tuple[TokenBucket, timedelta]:
    """Book one send: the bucket afterwards, and how long to wait before sending. A rate of
    0 or less means unlimited."""
    if bucket.rate <= 0:
        return bucket, timedelta(0)
    wait = bucket.wait(now)
    return replace(bucket.refilled(now), tokens=bucket.refilled(now).tokens - 1), wait
