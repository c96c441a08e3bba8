"""Who could be told about an alert at a school, as the core's routing needs it."""

from __future__ import annotations

from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alertd.app.ports import Transaction
from alertd.core.drill import narrow_audience
from alertd.core.drill_link import DrillLink
from alertd.core.errors import ValidationFailed
from alertd.core.routing import Audience


def school_zone(name: str) -> tzinfo:
    """The IANA zone `name` (UTC when unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


async def audience_of(
    tx: Transaction,
    school_id: str,
    room_id: str | None,
    *,
    console_url: str | None,
    drill_link: DrillLink | None = None,
) -> Audience:
    """The school's audience; ValidationFailed for an unknown school, or a room elsewhere.

    A drill raised from a plan (`drill_link`) reaches only the test contacts its plan chose.
    """
    site = await tx.site_context(school_id=school_id, room_id=room_id)
    if site.school is None:
        raise ValidationFailed("school_id", f"unknown school {school_id!r}")
    if room_id is not None and (site.room is None or site.room.school_id != school_id):
        raise ValidationFailed("room_id", f"unknown room {room_id!r} at {school_id!r}")
    label = site.room.label if site.room else None
    audience = Audience(
        site.school.name,
        label,
        site.recipients,
        timezone=school_zone(site.timezone),
        console_url=console_url,
        push_targets=site.push_targets,
    )
    return narrow_audience(audience, drill_link)
