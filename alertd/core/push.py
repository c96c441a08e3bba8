"""Who gets a Web Push about an alert event, and what it says. Pure.

Campus-wide instructions (an SRP action: LOCKDOWN "Locks, lights, out of sight") reach every
browser subscribed at the school, so a teacher whose app is closed still learns of them.
Room-scoped alerts (medical, fire, staff assist) reach the school's SROs only: they are the
ones who go. Each push is a `SendPush` effect, run by the relay after commit like a text.

The payload is JSON the apps' service workers read. It carries the kind and the event, so
each app words the notification in its reader's language; `title` and `body` are English
for anything else that shows it. Free-text notes never go into a push.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from alertd.core.alert import AlertEvent, EventType
from alertd.core.effect import SendPush
from alertd.core.kind import SRP_INSTRUCTIONS, Scope, policy_of

# The Standard Response Protocol's words for each campus-wide action (I Love U Guys).

# Events that push, and the headline each uses.
_HEADLINES = {
    EventType.ALERT_RAISED: "{kind}",
    EventType.ALERT_UPGRADED: "UPGRADED TO {kind}",
    EventType.ALERT_CANCELLED: "CANCELLED {kind}",
    EventType.ALL_CLEAR_GIVEN: "ALL CLEAR after {kind}",
}
# A push service keeps an undelivered message this long; an older instruction misleads.
PUSH_TTL_SECONDS = 3600
SRO_ROLE = "sro"


@dataclass(frozen=True, slots=True)
class PushTarget:
    """One browser of one person at the school, subscribed to Web Push."""

    user_id: str
    user_name: str
    role: str
    device_id: str
    endpoint: str
    p256dh: str
    auth: str


def push_payload(event: AlertEvent, *, school_name: str, place: str | None) -> str:
    """The JSON text the service worker receives (no free-text notes: they may name pupils)."""
    alert = event.alert
    label = alert.kind.value.replace("_", " ").upper()
    title = _HEADLINES[event.type].format(kind=label)
    if alert.drill:
        title = "DRILL: " + title
    body = " | ".join(
        part
        for part in (
            SRP_INSTRUCTIONS.get(alert.kind) if event.type is EventType.ALERT_RAISED else None,
            school_name,
            place,
            f"evacuate to {alert.destination}" if alert.destination else None,
        )
        if part
    )
    document = {
        "alert_id": alert.id,
        "event": event.type.value,
        "kind": alert.kind.value,
        "school_id": alert.school_id,
        "room_id": alert.room_id,
        "drill": alert.drill,
        "destination": alert.destination,
        "hazard": alert.hazard.value if alert.hazard else None,
        "title": title,
        "body": body,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def push_effects_for(
    event: AlertEvent, *, school_name: str, place: str | None, targets: tuple[PushTarget, ...]
) -> tuple[SendPush, ...]:
    """One SendPush per target that must hear of `event`; none for events that push nothing."""
    if event.type not in _HEADLINES or not targets:
        return ()
    campus = policy_of(event.alert.kind).scope is Scope.CAMPUS
    chosen = [t for t in targets if campus or t.role == SRO_ROLE]
    if not chosen:
        return ()
    payload = push_payload(event, school_name=school_name, place=place)
    return pushes(event, payload, chosen)


def pushes(event: AlertEvent, payload: str, targets: Iterable[PushTarget]) -> tuple[SendPush, ...]:
    """One urgent SendPush of `payload` about `event` to each target's browser."""
    return tuple(
        SendPush(
            alert_id=event.alert_id,
            recipient_id=t.user_id,
            device_id=t.device_id,
            endpoint=t.endpoint,
            p256dh=t.p256dh,
            auth=t.auth,
            payload=payload,
            drill=event.drill,
            urgency="high",
            ttl_seconds=PUSH_TTL_SECONDS,
            recipient_name=t.user_name,
            recipient_kind=t.role,
            about=event.type.value,
        )
        for t in targets
    )
