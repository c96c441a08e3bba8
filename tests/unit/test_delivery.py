"""The delivery ledger's states only move forward, and notices reach only who may see them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.actor import Actor
from alertd.core.delivery import (
    NEXT_STATES,
    Channel,
    Delivery,
    DeliveryState,
    advance,
    attempted,
    deliveries_updated,
    delivery_view,
)
from alertd.core.notice import Notice, NoticeType
from alertd.core.permission import Principal, Role, Verdict, authorize_event

NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
S = DeliveryState

# Written apart from the table in the core: (from, to) -> allowed.
ALLOWED = {
    (S.QUEUED, S.RECORDED),
    (S.QUEUED, S.SENT),
    (S.QUEUED, S.DELIVERED),
    (S.QUEUED, S.UNDELIVERED),
    (S.QUEUED, S.FAILED),
    (S.SENT, S.DELIVERED),
    (S.SENT, S.UNDELIVERED),
    (S.SENT, S.FAILED),
}


def delivery(state: DeliveryState = S.QUEUED, **changes: object) -> Delivery:
    base = Delivery(
        id=7,
        alert_id="a-1",
        school_id="lincoln-hs",
        recipient_id="lincoln-hs-sro-1",
        recipient_name="Officer Garcia",
        recipient_kind="sro",
        channel=Channel.SMS,
        address="+15555550111",
        about="AlertRaised",
        drill=False,
        state=state,
        attempts=0,
        error=None,
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("before", list(S))
@pytest.mark.parametrize("after", list(S))
def test_states_only_move_forward(before: DeliveryState, after: DeliveryState) -> None:
    moved = advance(delivery(before), after, now=NOW + timedelta(seconds=1))
    if (before, after) in ALLOWED:
        assert moved is not None and moved.state is after
        assert moved.updated_at == NOW + timedelta(seconds=1)
    else:
        assert moved is None  # a repeat, or a late report of an earlier step


def test_the_table_in_the_core_matches_the_one_written_here() -> None:
    assert {(a, b) for a, nexts in NEXT_STATES.items() for b in nexts} == ALLOWED
    assert {s for s in S if s.is_final} == {S.RECORDED, S.DELIVERED, S.UNDELIVERED, S.FAILED}


def test_an_attempt_counts_and_a_temporary_failure_stays_queued_with_its_reason() -> None:
    retried = attempted(delivery(), None, now=NOW, error="429 too many requests")
    assert (retried.state, retried.attempts, retried.error) == (
        S.QUEUED,
        1,
        "429 too many requests",
    )
    sent = attempted(retried, S.SENT, now=NOW, provider_ref="SM123")
    assert (sent.state, sent.attempts, sent.provider_ref) == (S.SENT, 2, "SM123")
    accepted = attempted(delivery(), S.QUEUED, now=NOW, provider_ref="SM9")
    assert (accepted.state, accepted.provider_ref) == (S.QUEUED, "SM9")


def test_views_show_only_the_last_four_digits() -> None:
    view = delivery_view(delivery())
    assert view["address"] == "…0111"
    assert "+1555" not in str(view)


def test_one_notice_per_alert_per_batch() -> None:
    batch = [
        delivery(id=1),
        delivery(id=2, alert_id="a-2", school_id="jefferson-es", drill=True),
        delivery(id=3),
    ]
    notices = deliveries_updated(batch, now=NOW)
    assert [(n.alert_id, n.school_id, n.drill) for n in notices] == [
        ("a-1", "lincoln-hs", False),
        ("a-2", "jefferson-es", True),
    ]
    assert [d["id"] for d in notices[0].data["deliveries"]] == [1, 3]


def principal(role: Role, schools: frozenset[str] | None = frozenset({"lincoln-hs"})) -> Principal:
    return Principal(Actor(f"{role}-1", role.value, role=role.value), role, schools)


@pytest.mark.parametrize(
    ("role", "verdict"),
    [
        (Role.STAFF, Verdict.FORBIDDEN),
        (Role.DEVICE, Verdict.FORBIDDEN),
        (Role.SRO, Verdict.ALLOW),
        (Role.DISPATCHER, Verdict.ALLOW),
        (Role.DRILL_COORDINATOR, Verdict.ALLOW),
        (Role.SCHOOL_ADMIN, Verdict.ALLOW),
        (Role.DISTRICT_ADMIN, Verdict.ALLOW),
    ],
)
def test_delivery_notices_reach_the_responders_not_staff(role: Role, verdict: Verdict) -> None:
    (notice,) = deliveries_updated([delivery()], now=NOW)
    assert authorize_event(principal(role), notice) is verdict


def test_notices_of_another_school_or_of_the_whole_district_are_hidden_from_a_school() -> None:
    (notice,) = deliveries_updated([delivery(school_id="jefferson-es")], now=NOW)
    assert authorize_event(principal(Role.SRO), notice) is Verdict.HIDDEN
    district_wide = Notice(NoticeType.DELIVERIES_UPDATED, NOW, notice.actor, school_id=None)
    assert authorize_event(principal(Role.SCHOOL_ADMIN), district_wide) is Verdict.HIDDEN
    admin = principal(Role.DISTRICT_ADMIN, None)
    assert authorize_event(admin, district_wide) is Verdict.ALLOW
