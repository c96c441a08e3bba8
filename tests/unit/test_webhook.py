"""Webhook rules: signatures an independent Standard Webhooks implementation accepts, the
addresses refused, who receives what, and pausing after failures in a row."""

from __future__ import annotations

import ipaddress
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from alertd.core.actor import Actor
from alertd.core.alert import Alert, AlertEvent, AlertState, EventType
from alertd.core.errors import ValidationFailed
from alertd.core.kind import AlertKind, Severity
from alertd.core.notice import Notice, NoticeType
from alertd.core.permission import Role
from alertd.core.webhook import (
    AttemptOutcome,
    WebhookAttempt,
    WebhookState,
    WebhookSubscription,
    after_attempt,
    check_secret,
    check_url,
    refused_address,
    resumed,
    secret_from,
    sign,
    wants,
)

NOW = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
SECRET = secret_from(bytes(range(32)))


def subscription(**changes: object) -> WebhookSubscription:
    values: dict[str, object] = {
        "id": "wh-1",
        "url": "https://cad.example/hooks",
        "secret": SECRET,
        "event_types": frozenset(),
        "school_ids": frozenset({"lincoln-hs"}),
        "owner_id": "u-pat",
        "owner_role": Role.SCHOOL_ADMIN,
        "state": WebhookState.ACTIVE,
        "created_at": NOW,
    }
    return WebhookSubscription(**(values | changes))  # type: ignore[arg-type]


def alert_event(school_id: str = "lincoln-hs", kind: AlertKind = AlertKind.LOCKDOWN) -> AlertEvent:
    raiser = Actor("u-sam", "Sam Staff", role="staff")
    alert = Alert(
        id="a-1",
        kind=kind,
        severity=Severity.EXTREME,
        school_id=school_id,
        room_id=None,
        state=AlertState.RAISED,
        drill=False,
        raised_by=raiser,
        raised_at=NOW,
        updated_at=NOW,
        version=1,
    )
    return AlertEvent(EventType.ALERT_RAISED, alert, raiser, NOW)


def test_signatures_verify_with_the_standard_webhooks_library() -> None:
    body = json.dumps({"type": "AlertRaised", "data": {"id": 7}})
    timestamp = int(time.time())
    headers = {
        "webhook-id": "msg_7",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            secret=SECRET, message_id="msg_7", timestamp=timestamp, body=body
        ),
    }
    assert Webhook(SECRET).verify(body, headers) == {"type": "AlertRaised", "data": {"id": 7}}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_from(bytes(32))).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace("7", "8"), headers)


def test_the_signature_is_the_spec_s_hmac_of_id_timestamp_and_body() -> None:
    # Standard Webhooks' own example (its spec's README): this secret, id and timestamp.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert (
        sign(
            secret=secret,
            message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body=body,
        )
        == expected
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "169.254.169.254",
        "fe80::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.20",
        "fc00::5",
        "100.64.0.1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
        "192.0.2.10",
    ],
)
def test_addresses_inside_networks_are_refused(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.140", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address)) is None


def test_urls_and_secrets_are_checked() -> None:
    assert check_url(" https://cad.example/x ", allow_http=False) == "https://cad.example/x"
    for bad in ("http://cad.example/x", "ftp://x", "https://user:pw@cad.example/", "https:///x"):
        with pytest.raises(ValidationFailed):
            check_url(bad, allow_http=False)
    assert check_url("http://cad.example/x", allow_http=True)
    assert check_secret(SECRET) == SECRET
    for bad in ("whsec_short", "nope", "whsec_!!!!"):
        with pytest.raises(ValidationFailed):
            check_secret(bad)


def test_a_subscription_gets_the_events_its_owner_may_see_and_asked_for() -> None:
    mine = subscription()
    assert wants(mine, alert_event())
    assert not wants(mine, alert_event(school_id="jefferson-es"))
    assert not wants(subscription(event_types=frozenset({"AlertCancelled"})), alert_event())
    assert not wants(subscription(state=WebhookState.PAUSED), alert_event())
    later = subscription(created_at=NOW.replace(minute=1))
    assert not wants(later, alert_event())  # before it was created: never sent
    district = subscription(school_ids=None, owner_role=Role.DISTRICT_ADMIN)
    assert wants(district, alert_event(school_id="jefferson-es"))
    trouble = Notice(NoticeType.DEVICE_TROUBLE, NOW, Actor("s", "s"), school_id="lincoln-hs")
    assert wants(mine, trouble)
    offline = Notice(NoticeType.CAMERA_OFFLINE, NOW, Actor("s", "s"), school_id="lincoln-hs")
    assert not wants(mine, offline)  # admins do not see camera notices on the stream either
    assert not wants(subscription(owner_role=Role.STAFF), alert_event(kind=AlertKind.MEDICAL))


def test_failures_in_a_row_pause_the_subscription_once() -> None:
    def attempt(outcome: AttemptOutcome, status: int | None = 503) -> WebhookAttempt:
        return WebhookAttempt("wh-1", "msg_1", 1, "AlertRaised", NOW, outcome, "{}", status)

    current = subscription()
    current, notices = after_attempt(current, attempt(AttemptOutcome.FAILED), pause_after=2)
    assert (current.state, current.consecutive_failures, notices) == (WebhookState.ACTIVE, 1, ())
    current, _ = after_attempt(current, attempt(AttemptOutcome.DELIVERED, 204), pause_after=2)
    assert current.consecutive_failures == 0
    current, _ = after_attempt(current, attempt(AttemptOutcome.FAILED), pause_after=2)
    current, notices = after_attempt(current, attempt(AttemptOutcome.REFUSED), pause_after=2)
    assert current.state is WebhookState.PAUSED
    (notice,) = notices
    assert notice.type is NoticeType.WEBHOOK_PAUSED and notice.school_id == "lincoln-hs"
    assert notice.data["failures"] == 2 and notice.data["subscription_id"] == "wh-1"
    current, notices = after_attempt(current, attempt(AttemptOutcome.FAILED), pause_after=2)
    assert notices == ()  # already paused: told once
    assert after_attempt(current, attempt(AttemptOutcome.PAUSED, None), pause_after=2)[0] == current
    again = resumed(current)
    assert (again.state, again.consecutive_failures, again.last_error) == (
        WebhookState.ACTIVE,
        0,
        None,
    )
