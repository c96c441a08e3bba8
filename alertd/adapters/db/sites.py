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
from alertd.core.kind import AlertKind
from alertd.core.routing import Recipient, RecipientKind
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
        for table in (t.recipients, t.escalation_policies):
            conn.execute(sa.delete(table).where(table.c.school_id == school.id))
        people = [
            {
                "school_id": school.id,
                "id": r.id,
                "name": r.name,
                "kind": r.kind.value,
                "sms": r.sms,
                "voice": r.voice,
                "test_contact": r.test_contact,
                "backup": r.backup,
                "alert_kinds": (
                    ",".join(sorted(k.value for k in r.alert_kinds))
                    if r.alert_kinds is not None
                    else None
                ),
            }
            for r in recipients_of(school, site.agencies)
        ]
        if people:
            conn.execute(sa.insert(t.recipients), people)
        policies = [
            {"school_id": school.id, "kind": kind.value, "steps": codec.policy_to_json(policy)}
            for kind, policy in site.policies(school.id).items()
        ]
        if policies:
            conn.execute(sa.insert(t.escalation_policies), policies)


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


_SELECT_RECIPIENTS = (
    sa.select(t.recipients)
    .where(t.recipients.c.school_id == sa.bindparam("school_id"))
    .order_by(t.recipients.c.id)
)
# SROs and school admins whose profile holds a phone: texted about their schools' alerts.
_PROFILE_ROLES = (RecipientKind.SRO.value, RecipientKind.SCHOOL_ADMIN.value)
_SELECT_PROFILE_PHONES = (
    sa.select(t.users.c.id, t.users.c.name, t.users.c.role, t.users.c.phone)
    .join(t.user_schools, t.user_schools.c.user_id == t.users.c.id)
    .where(
        t.user_schools.c.school_id == sa.bindparam("school_id"),
        t.users.c.role.in_(_PROFILE_ROLES),
        t.users.c.phone.is_not(None),
        t.users.c.disabled.is_(sa.false()),
    )
    .order_by(t.users.c.id)
)


def recipients_at(conn: Connection, school_id: str) -> tuple[Recipient, ...]:
    """Everyone who could be told about an alert at the school: the site's contacts and
    agencies, then the SROs and school admins whose user profile holds a phone number."""
    people = conn.execute(_SELECT_RECIPIENTS, {"school_id": school_id}).all()
    profiles = conn.execute(_SELECT_PROFILE_PHONES, {"school_id": school_id}).all()
    return tuple(_recipient(r) for r in people) + tuple(
        Recipient(f"user:{u.id}", u.name, RecipientKind(u.role), u.phone) for u in profiles
    )


def _recipient(row: Any) -> Recipient:
    kinds = row.alert_kinds
    return Recipient(
        row.id,
        row.name,
        RecipientKind(row.kind),
        row.sms,
        voice=row.voice,
        test_contact=bool(row.test_contact),
        backup=bool(row.backup),
        alert_kinds=frozenset(AlertKind(k) for k in kinds.split(",") if k)
        if kinds is not None
        else None,
    )
