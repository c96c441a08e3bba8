"""Web Push, pure parts: RFC 8291's own example, and who is pushed about what."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ec

from alertd.adapters.push.encryption import b64url_decode, b64url_encode, decrypt, encrypt
from alertd.core.actor import Actor, ActorKind
from alertd.core.alert import Alert, AlertEvent, AlertState, EventType
from alertd.core.kind import AlertKind, policy_of
from alertd.core.push import PushTarget, push_effects_for
from alertd.core.source import AlertSource

# RFC 8291 Appendix A (published test data, not credentials).
PLAINTEXT = b"When I grow up, I want to be a watermelon"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
UA_PUBLIC = (
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
)
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6Tlz"
    "AC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)


def _key(scalar: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64url_decode(scalar), "big"), ec.SECP256R1())


def test_encryption_matches_rfc_8291_appendix_a_byte_for_byte() -> None:
    body = encrypt(
        PLAINTEXT,
        p256dh=UA_PUBLIC,
        auth=AUTH,
        salt=b64url_decode(SALT),
        server_key=_key(AS_PRIVATE),
    )
    assert b64url_encode(body) == BODY


def test_the_browser_reads_the_rfc_example_and_a_fresh_message() -> None:
    browser = _key(UA_PRIVATE)
    assert decrypt(b64url_decode(BODY), private_key=browser, auth=b64url_decode(AUTH)) == PLAINTEXT
    fresh = encrypt(b"LOCKDOWN", p256dh=UA_PUBLIC, auth=AUTH)
    assert fresh[:16] != b64url_decode(SALT)  # a new salt and key for every message
    assert decrypt(fresh, private_key=browser, auth=b64url_decode(AUTH)) == b"LOCKDOWN"


NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TEACHER = Actor("u-teacher", "Sam Staff", ActorKind.USER, "staff")


def _event(
    kind: AlertKind, *, drill: bool = False, type_: EventType = EventType.ALERT_RAISED
) -> AlertEvent:
    alert = Alert(
        id="a1",
        kind=kind,
        severity=policy_of(kind).severity,
        school_id="lincoln-hs",
        room_id="room-1",
        state=AlertState.RAISED,
        drill=drill,
        raised_by=TEACHER,
        raised_at=NOW,
        updated_at=NOW,
        version=1,
        source=AlertSource.APP,
    )
    return AlertEvent(type_, alert, TEACHER, NOW, "student name here")


def _target(user: str, role: str) -> PushTarget:
    return PushTarget(
        user, user.title(), role, "phone", f"https://push.test/{user}", UA_PUBLIC, AUTH
    )


TARGETS = (
    _target("teacher", "staff"),
    _target("officer", "sro"),
    _target("principal", "school_admin"),
)


def test_campus_wide_instructions_reach_everyone_room_alerts_only_sros() -> None:
    lockdown = push_effects_for(
        _event(AlertKind.LOCKDOWN), school_name="Lincoln", place=None, targets=TARGETS
    )
    assert [e.recipient_id for e in lockdown] == ["teacher", "officer", "principal"]
    medical = push_effects_for(
        _event(AlertKind.MEDICAL), school_name="Lincoln", place="Room 1", targets=TARGETS
    )
    assert [e.recipient_id for e in medical] == ["officer"]
    acknowledged = _event(AlertKind.LOCKDOWN, type_=EventType.ALERT_ACKNOWLEDGED)
    assert push_effects_for(acknowledged, school_name="Lincoln", place=None, targets=TARGETS) == ()


def test_a_push_says_drill_and_never_carries_the_note() -> None:
    (effect, *_) = push_effects_for(
        _event(AlertKind.LOCKDOWN, drill=True), school_name="Lincoln", place=None, targets=TARGETS
    )
    payload = json.loads(effect.payload)
    assert payload["title"] == "DRILL: LOCKDOWN" and payload["drill"] is True
    assert payload["body"] == "Locks, lights, out of sight. | Lincoln"
    assert "student" not in effect.payload
    assert (effect.drill, effect.urgency, effect.about) == (True, "high", "AlertRaised")
