"""Saving a site document: districts, agencies' coverage, schools, rooms and recipients."""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from alertd.adapters import codec
from alertd.adapters.db import schema as t
from alertd.adapters.db.lock import LockKind, xact_lock
from alertd.core.errors import ValidationFailed
from alertd.core.site import School, Site, place_label, recipients_of


@cache
def insert_for(dialect: str, table: sa.Table) -> Any:
    """INSERT with ON CONFLICT support for the connection's dialect."""
    return (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table)


def save_site(conn: Connection, site: Site) -> None:
    """Create or replace the site's schools (a sync step inside a write transaction).

    Raises ValidationFailed if one of its room ids already belongs to another school.
    """
    dialect = conn.dialect.name
    xact_lock(conn, LockKind.SITE)  # two saves at once (demo instances seeding) take turns
    conn.execute(
        insert_for(dialect, t.districts)
        .values(id=site.district.id, name=site.district.name)
        .on_conflict_do_update(index_elements=["id"], set_={"name": site.district.name})
    )
    for agency in site.agencies:
        conn.execute(sa.delete(t.agency_schools).where(t.agency_schools.c.agency_id == agency.id))
        if agency.school_ids:
            conn.execute(
                sa.insert(t.agency_schools),
                [{"agency_id": agency.id, "school_id": s} for s in sorted(agency.school_ids)],
            )
    for school in site.schools:
        save_school_rows(conn, school)
        conn.execute(sa.delete(t.recipients).where(t.recipients.c.school_id == school.id))
        people = [
            {"school_id": school.id, "id": r.id, "name": r.name, "kind": r.kind.value, "sms": r.sms}
            for r in recipients_of(school, site.agencies)
        ]
        if people:
            conn.execute(sa.insert(t.recipients), people)


def save_school_rows(conn: Connection, school: School) -> None:
    """Create or replace the school's row and its rooms (not its recipients).

    Raises ValidationFailed if one of its room ids already belongs to another school.
    """
    places = school.places()
    taken = conn.execute(
        sa.select(t.rooms.c.id, t.rooms.c.school_id).where(
            t.rooms.c.id.in_([room.id for _b, _f, room in places]),
            t.rooms.c.school_id != school.id,
        )
    ).first()
    if taken is not None:
        raise ValidationFailed(
            "schools", f"room id {taken.id!r} already belongs to school {taken.school_id!r}"
        )
    values = {
        "name": school.name,
        "district_id": school.district_id,
        "doc": codec.school_to_dict(school),
    }
    conn.execute(
        insert_for(conn.dialect.name, t.schools)
        .values(id=school.id, **values)
        .on_conflict_do_update(index_elements=["id"], set_=values)
    )
    conn.execute(sa.delete(t.rooms).where(t.rooms.c.school_id == school.id))
    if places:
        conn.execute(
            sa.insert(t.rooms),
            [
                {
                    "id": room.id,
                    "school_id": school.id,
                    "floor_id": floor.id,
                    "label": place_label(school, room.id) or room.name,
                }
                for _building, floor, room in places
            ],
        )


def save_school(conn: Connection, school: School) -> None:
    """Create or replace one school and its rooms; its district row is made if missing."""
    conn.execute(
        insert_for(conn.dialect.name, t.districts)
        .values(id=school.district_id, name=school.district_id)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    save_school_rows(conn, school)


def sole_district(conn: Connection) -> str | None:
    ids = conn.execute(sa.select(t.districts.c.id).limit(2)).scalars().all()
    return ids[0] if len(ids) == 1 else None
