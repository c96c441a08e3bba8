"""Per-sender pacing: long codes 1/s, toll-free 3/s, short codes 100/s; a pool spreads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alertd.adapters.twilio.senders import Sender, SenderPool
from alertd.core.throttle import SenderKind, TokenBucket, reserve, sender_kind
from alertd.testing.clock import FakeClock


@pytest.mark.parametrize(
    ("sender", "kind"),
    [
        ("+15555550190", SenderKind.LONG_CODE),
        ("+18005550100", SenderKind.TOLL_FREE),
        ("+18885550100", SenderKind.TOLL_FREE),
        ("55555", SenderKind.SHORT_CODE),
        ("MG" + "0" * 32, SenderKind.MESSAGING_SERVICE),
    ],
)
def test_the_kind_of_a_sender(sender: str, kind: SenderKind) -> None:
    assert sender_kind(sender) is kind


def test_a_long_code_books_one_slot_a_second() -> None:
    clock = FakeClock()
    bucket = TokenBucket.full(1.0, now=clock.now())
    waits = []
    for _ in range(4):
        bucket, wait = reserve(bucket, now=clock.now())
        waits.append(wait.total_seconds())
    assert waits == [0, 1, 2, 3]
    clock.advance(10)  # idle: the bucket refills to its burst, no more
    bucket, wait = reserve(bucket, now=clock.now())
    assert wait == timedelta(0)
    assert reserve(bucket, now=clock.now())[1] == timedelta(seconds=1)


def test_a_pool_of_five_long_codes_sends_twenty_texts_in_four_seconds() -> None:
    clock = FakeClock()
    pool = SenderPool([Sender(0, f"+1555555019{n}") for n in range(5)], now=clock.now)
    booked = [pool.reserve(voice=False) for _ in range(20)]
    waits = sorted(b[1] for b in booked if b)
    assert waits == [float(w) for w in range(4) for _ in range(5)]
    assert len({b[0] for b in booked if b}) == 5


def test_a_sender_that_keeps_failing_is_benched_and_the_second_account_takes_over() -> None:
    clock = FakeClock()
    first, second = Sender(0, "+15555550190"), Sender(1, "+15555550191")
    pool = SenderPool([first, second], now=clock.now, rate=0)
    assert pool.reserve(voice=False) == (first, 0.0)
    for _ in range(3):
        pool.failed(first)
    assert pool.reserve(voice=False) == (second, 0.0)
    clock.advance(61)
    assert pool.reserve(voice=False) == (first, 0.0)  # back after its bench time


def test_calls_never_go_out_from_a_messaging_service() -> None:
    clock = FakeClock()
    pool = SenderPool([Sender(0, "MG" + "0" * 32)], now=clock.now)
    assert pool.reserve(voice=True) is None
