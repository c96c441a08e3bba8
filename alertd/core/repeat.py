"""Repeat presses: raising is never rate-limited; a repeat joins the alert it repeats.

A frightened teacher presses again; a badge sends its pattern twice. The same raiser, the
same room and kind, within the window, while the first alert is still open, is the same
emergency: the press joins that alert instead of opening a second one.

A drill and a real alert are never the same emergency: a real press during a drill (even by
the coordinator running it, for the same room and kind) always opens a real alert of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from alertd.core.alert import Alert
from alertd.core.kind import AlertKind


@dataclass(frozen=True, slots=True)
class PressKey:
    """What two presses must share to be one emergency, time aside: the conditions of
    `repeated_alert` besides the window and the state. Presses with different keys never
    join one alert, so only presses with the same key need to take turns."""

    raiser_id: str
    school_id: str
    room_id: str | None
    kind: AlertKind
    drill: bool


def repeated_alert(
    candidates: Iterable[Alert],
    *,
    raiser_id: str,
    room_id: str | None,
    kind: str,
    drill: bool,
    now: datetime,
    window: timedelta,
) -> Alert | None:
    """The open alert this press repeats, or None. `candidates` may hold anything recent."""
    for alert in candidates:
        if (
            alert.raised_by.id == raiser_id
            and alert.room_id == room_id
            and alert.kind == kind
            and alert.drill == drill
            and alert.state.is_open
            and timedelta(0) <= now - alert.raised_at <= window
        ):
            return alert
    return None
