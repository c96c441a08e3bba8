"""Rooms of the demo district, for tests that raise many alerts as one person.

A repeat press (same raiser, room and kind within the window) joins the open alert, so
tests that mean many separate emergencies raise them in different rooms, as real buttons are.
"""

from __future__ import annotations

from functools import cache

from alertd.main import demo_site


@cache
def demo_rooms(school_id: str) -> tuple[str, ...]:
    site = demo_site().to_site()
    school = next(s for s in site.schools if s.id == school_id)
    return tuple(room.id for _building, _floor, room in school.places())


def room_for(school_id: str, n: int) -> str:
    """The n-th room of the school, wrapping around."""
    rooms = demo_rooms(school_id)
    return rooms[n % len(rooms)]
