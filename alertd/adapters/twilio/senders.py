"""A pool of senders: numbers (or a Messaging Service) of one or two Twilio accounts.

Each sender is paced by its own token bucket (`alertd.core.throttle`), at the rate its kind
allows. A send books the sender whose next slot comes first, preferring the primary account;
a sender that keeps failing (three temporary failures in a row) is benched for a minute,
so another number, or the second account, takes over. A benched sender is still used when
nothing else is left: trying beats not sending.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from alertd.core.throttle import RATES, SenderKind, TokenBucket, reserve, sender_kind

FAILURES_TO_BENCH = 3
BENCH_FOR = timedelta(seconds=60)
CALLS_PER_SECOND = 1.0  # Twilio's default calls-per-second limit of an account


@dataclass(frozen=True, slots=True)
class Sender:
    """A From number or a Messaging Service SID of account number `account` (0: primary)."""

    account: int
    address: str

    @property
    def kind(self) -> SenderKind:
        return sender_kind(self.address)

    @property
    def is_number(self) -> bool:
        return self.kind is not SenderKind.MESSAGING_SERVICE


@dataclass(slots=True)
class _Health:
    failures: int = 0
    benched_until: datetime | None = None


class SenderPool:
    def __init__(
        self,
        senders: Sequence[Sender],
        *,
        now: Callable[[], datetime],
        rate: float | None = None,
    ) -> None:
        """`rate`: texts per second for every sender (0: unlimited); None: by kind."""
        self._senders = tuple(senders)
        self._now = now
        start = now()
        self._text_buckets = {
            s: TokenBucket.full(RATES[s.kind] if rate is None else rate, now=start)
            for s in self._senders
        }
        self._call_buckets = {
            s: TokenBucket.full(CALLS_PER_SECOND if rate is None else rate, now=start)
            for s in self._senders
        }
        self._health = {s: _Health() for s in self._senders}

    @property
    def senders(self) -> tuple[Sender, ...]:
        return self._senders

    def reserve(
        self, *, voice: bool, exclude: Collection[Sender] = ()
    ) -> tuple[Sender, float] | None:
        """Book a slot: the sender and the seconds to wait for it; None if none is left."""
        now = self._now()
        buckets = self._call_buckets if voice else self._text_buckets
        usable = [s for s in self._senders if s not in exclude and (s.is_number or not voice)]
        if not usable:
            return None
        healthy = [s for s in usable if not self._benched(s, now)] or usable
        primary = min(s.account for s in healthy)
        chosen = min(
            (s for s in healthy if s.account == primary),
            key=lambda s: buckets[s].wait(now),
        )
        buckets[chosen], wait = reserve(buckets[chosen], now=now)
        return chosen, wait.total_seconds()

    def succeeded(self, sender: Sender) -> None:
        self._health[sender] = _Health()

    def failed(self, sender: Sender) -> None:
        health = self._health[sender]
        health.failures += 1
        if health.failures >= FAILURES_TO_BENCH:
            health.benched_until = self._now() + BENCH_FOR

    def _benched(self, sender: Sender, now: datetime) -> bool:
        until = self._health[sender].benched_until
        return until is not None and now < until
