"""Users and API keys in the database: create, find, and turn into a `Principal`.

Every function is a synchronous step of a `Connection` (see `Database.write/read`). They
take password hashes, never passwords: hash outside the writer (see `passwords`).

A user's schools: staff, SROs, drill coordinators and school admins have `user_schools`
rows; a dispatcher has the schools its agency covers (`agency_schools`, filled when a site
is saved); a district admin has every school (`school_ids` None).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.auth.tokens import fingerprint
from alertd.adapters.db.schema import agency_schools, api_keys, user_schools, users
from alertd.core.actor import Actor, ActorKind
from alertd.core.permission import Principal, Role

API_KEY_PREFIX = "ak_"
# Roles that work for an agency rather than for schools.
AGENCY_ROLES = frozenset({Role.DISPATCHER})
# Roles that may (and, for dispatchers and admins, should) use a second factor.


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    email: str
    name: str
    role: Role
    agency_id: str | None
    password_hash: str
    totp_secret: str | None
    totp_pending_secret: str | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class UserSummary:
    """What admins see of a user: no hashes, no secrets."""

    id: str
    email: str
    name: str
    role: Role
    agency_id: str | None
    school_ids: tuple[str, ...]
    disabled: bool
    second_factor: bool


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    name: str
    user_id: str
    revoked: bool


def create_user(
    conn: Connection,
    *,
    email: str,
    name: str,
    role: Role,
    password_hash: str,
    now: datetime,
    school_ids: Collection[str] = (),
    agency_id: str | None = None,
    user_id: str | None = None,
) -> str:
    """Insert a user and its schools; returns its id. The e-mail must be unused (the unique
    constraint raises IntegrityError otherwise; check with `find_user_by_email` first)."""
    new_id = user_id or str(uuid.uuid4())
    conn.execute(
        users.insert().values(
            id=new_id,
            email=email,
            name=name,
            role=role.value,
            agency_id=agency_id,
            password_hash=password_hash,
            created_at=now,
        )
    )
    if school_ids:
        conn.execute(
            user_schools.insert(), [{"user_id": new_id, "school_id": s} for s in school_ids]
        )
    return new_id


def find_user_by_email(conn: Connection, email: str) -> UserRecord | None:
    row = conn.execute(sa.select(users).where(users.c.email == email)).first()
    return _record(row) if row is not None else None


def find_user(conn: Connection, user_id: str) -> UserRecord | None:
    row = conn.execute(sa.select(users).where(users.c.id == user_id)).first()
    return _record(row) if row is not None else None


def schools_of(conn: Connection, user: UserRecord) -> frozenset[str] | None:
    """The schools `user` acts for; None means all of them."""
    if user.role is Role.DISTRICT_ADMIN:
        return None
    if user.role in AGENCY_ROLES:
        if user.agency_id is None:
            return frozenset()
        query = sa.select(agency_schools.c.school_id).where(
            agency_schools.c.agency_id == user.agency_id
        )
    else:
        query = sa.select(user_schools.c.school_id).where(user_schools.c.user_id == user.id)
    return frozenset(conn.execute(query).scalars())


def principal_of(conn: Connection, user: UserRecord) -> Principal:
    actor = Actor(id=user.id, name=user.name, kind=ActorKind.USER, role=user.role.value)
    return Principal(actor=actor, role=user.role, school_ids=schools_of(conn, user))


def load_principal(conn: Connection, user_id: str) -> Principal | None:
    """The principal of an enabled user, or None if the user is unknown or disabled."""
    user = find_user(conn, user_id)
    if user is None or user.disabled:
        return None
    return principal_of(conn, user)


def list_users(conn: Connection, *, school_ids: frozenset[str] | None) -> list[UserSummary]:
    """Users with a school among `school_ids` (None: every user), by e-mail."""
    query = sa.select(users).order_by(users.c.email)
    if school_ids is not None:
        members = sa.select(user_schools.c.user_id).where(user_schools.c.school_id.in_(school_ids))
        query = query.where(users.c.id.in_(members))
    records = [_record(row) for row in conn.execute(query)]
    memberships: dict[str, list[str]] = {}
    rows = conn.execute(
        sa.select(user_schools.c.user_id, user_schools.c.school_id).order_by(
            user_schools.c.school_id
        )
    )
    for user_id, school_id in rows:
        memberships.setdefault(user_id, []).append(school_id)
    return [
        UserSummary(
            id=r.id,
            email=r.email,
            name=r.name,
            role=r.role,
            agency_id=r.agency_id,
            school_ids=tuple(memberships.get(r.id, ())),
            disabled=r.disabled,
            second_factor=r.totp_secret is not None,
        )
        for r in records
    ]


def member_schools(conn: Connection, user_id: str) -> frozenset[str]:
    """The `user_schools` of a user (empty for dispatchers and district admins)."""
    query = sa.select(user_schools.c.school_id).where(user_schools.c.user_id == user_id)
    return frozenset(conn.execute(query).scalars())


def set_password_hash(conn: Connection, user_id: str, password_hash: str) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))


def set_pending_second_factor(conn: Connection, user_id: str, secret: str) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(totp_pending_secret=secret))


def activate_second_factor(conn: Connection, user_id: str, secret: str) -> None:
    """Make `secret` the required second factor (the user has just proven it works)."""
    conn.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(totp_secret=secret, totp_pending_secret=None)
    )


# --- API keys ------------------------------------------------------------------------------


def create_api_key(
    conn: Connection, *, user_id: str, name: str, now: datetime
) -> tuple[ApiKeyRecord, str]:
    """Store a new key acting as `user_id`. Returns the record and the key in clear, which
    exists only in this answer: the table keeps its sha256."""
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = str(uuid.uuid4())
    conn.execute(
        api_keys.insert().values(
            id=key_id, key_hash=fingerprint(raw_key), name=name, user_id=user_id, created_at=now
        )
    )
    return ApiKeyRecord(id=key_id, name=name, user_id=user_id, revoked=False), raw_key


def principal_for_api_key(conn: Connection, raw_key: str) -> Principal | None:
    """The principal a live key acts as, or None (unknown, revoked, or its user disabled)."""
    user_id = conn.execute(
        sa.select(api_keys.c.user_id).where(
            api_keys.c.key_hash == fingerprint(raw_key), api_keys.c.revoked_at.is_(None)
        )
    ).scalar()
    return load_principal(conn, user_id) if user_id is not None else None


def find_api_key(conn: Connection, key_id: str) -> ApiKeyRecord | None:
    row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        return None
    return ApiKeyRecord(
        id=row.id, name=row.name, user_id=row.user_id, revoked=row.revoked_at is not None
    )


def revoke_api_key(conn: Connection, key_id: str, *, now: datetime) -> None:
    conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _record(row: sa.Row[tuple[object, ...]]) -> UserRecord:
    m = row._mapping
    return UserRecord(
        id=str(m["id"]),
        email=str(m["email"]),
        name=str(m["name"]),
        role=Role(str(m["role"])),
        agency_id=_opt(m["agency_id"]),
        password_hash=str(m["password_hash"]),
        totp_secret=_opt(m["totp_secret"]),
        totp_pending_secret=_opt(m["totp_pending_secret"]),
        disabled=bool(m["disabled"]),
    )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
