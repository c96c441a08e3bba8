"""Accounts and their credentials in the database, as synchronous steps of a `Connection`.

Every function runs inside the caller's transaction (`SqlAccountTransaction`) or read
(`SqlAccountStore`). They take hashes and sealed values, never passwords or secrets in clear.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.codec import utc
from alertd.adapters.db import schema as t
from alertd.app.account_ports import (
    ApiKeyRecord,
    NewAccount,
    PrincipalState,
    SpentRefresh,
    UserCredentials,
)
from alertd.core.account import Account, AccountChange, AccountSource
from alertd.core.login import FailureRecord
from alertd.core.permission import Role

_U = t.users.c


def _memberships(conn: Connection, user_ids: Collection[str] | None) -> dict[str, list[str]]:
    query = sa.select(t.user_schools.c.user_id, t.user_schools.c.school_id).order_by(
        t.user_schools.c.school_id
    )
    if user_ids is not None:
        query = query.where(t.user_schools.c.user_id.in_(list(user_ids)))
    found: dict[str, list[str]] = {}
    for user_id, school_id in conn.execute(query):
        found.setdefault(user_id, []).append(school_id)
    return found


def _account(row: Any, school_ids: Collection[str]) -> Account:
    return Account(
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        agency_id=row.agency_id,
        school_ids=tuple(school_ids),
        disabled=bool(row.disabled),
        second_factor=row.totp_secret is not None,
        source=AccountSource(row.source),
        external_id=row.external_id,
        created_at=utc(row.created_at),
        phone=row.phone,
    )


def _one(conn: Connection, where: sa.ColumnElement[bool]) -> tuple[Any, Account] | None:
    row = conn.execute(sa.select(t.users).where(where)).first()
    if row is None:
        return None
    return row, _account(row, _memberships(conn, [row.id]).get(row.id, []))


def account(conn: Connection, user_id: str) -> Account | None:
    found = _one(conn, _U.id == user_id)
    return found[1] if found else None


def account_by_email(conn: Connection, email: str) -> Account | None:
    found = _one(conn, _U.email == email)
    return found[1] if found else None


def accounts(conn: Connection, *, school_ids: Collection[str] | None) -> list[Account]:
    """Accounts with a school among `school_ids` (None: every account), by e-mail."""
    query = sa.select(t.users).order_by(_U.email)
    if school_ids is not None:
        members = sa.select(t.user_schools.c.user_id).where(
            t.user_schools.c.school_id.in_(list(school_ids))
        )
        query = query.where(_U.id.in_(members))
    rows = list(conn.execute(query))
    schools = _memberships(conn, None if school_ids is None else [r.id for r in rows])
    return [_account(row, schools.get(row.id, [])) for row in rows]


def credentials(conn: Connection, where: sa.ColumnElement[bool]) -> UserCredentials | None:
    found = _one(conn, where)
    if found is None:
        return None
    row, user = found
    return UserCredentials(
        account=user,
        password_hash=row.password_hash,
        totp_secret=row.totp_secret,
        totp_pending_secret=row.totp_pending_secret,
        totp_last_step=row.totp_last_step,
        token_epoch=row.token_epoch,
    )


def principal_state(conn: Connection, user_id: str) -> PrincipalState | None:
    found = _one(conn, _U.id == user_id)
    if found is None:
        return None
    row, user = found
    agency_schools: frozenset[str] = frozenset()
    if user.agency_id is not None:
        agency_schools = frozenset(
            conn.execute(
                sa.select(t.agency_schools.c.school_id).where(
                    t.agency_schools.c.agency_id == user.agency_id
                )
            ).scalars()
        )
    return PrincipalState(user, agency_schools, row.token_epoch)


def add_account(conn: Connection, new: NewAccount) -> None:
    conn.execute(
        t.users.insert().values(
            id=new.id,
            email=new.email,
            name=new.name,
            role=new.affiliation.role.value,
            agency_id=new.affiliation.agency_id,
            password_hash=new.password_hash,
            created_at=utc(new.created_at),
            source=new.source.value,
            external_id=new.external_id,
            phone=new.phone,
        )
    )
    _set_schools(conn, new.id, new.affiliation.school_ids)


def _set_schools(conn: Connection, user_id: str, school_ids: Collection[str]) -> None:
    conn.execute(t.user_schools.delete().where(t.user_schools.c.user_id == user_id))
    if school_ids:
        conn.execute(
            t.user_schools.insert(), [{"user_id": user_id, "school_id": s} for s in school_ids]
        )


def change_account(
    conn: Connection,
    user_id: str,
    change: AccountChange,
    *,
    source: AccountSource | None,
    external_id: str | None,
) -> None:
    values: dict[str, Any] = {}
    if change.name is not None:
        values["name"] = change.name
    if change.disabled is not None:
        values["disabled"] = change.disabled
    if change.phone is not None:
        values["phone"] = change.phone or None
    if change.affiliation is not None:
        values["role"] = change.affiliation.role.value
        values["agency_id"] = change.affiliation.agency_id
        _set_schools(conn, user_id, change.affiliation.school_ids)
    if source is not None:
        values["source"] = source.value
    if external_id is not None:
        values["external_id"] = external_id
    if values:
        conn.execute(t.users.update().where(_U.id == user_id).values(values))


def end_sessions(conn: Connection, user_id: str, *, now: datetime) -> None:
    conn.execute(t.users.update().where(_U.id == user_id).values(token_epoch=_U.token_epoch + 1))
    tokens = t.refresh_tokens
    conn.execute(
        tokens.update()
        .where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=utc(now))
    )


def set_password_hash(conn: Connection, user_id: str, password_hash: str) -> None:
    conn.execute(t.users.update().where(_U.id == user_id).values(password_hash=password_hash))


def set_second_factor(
    conn: Connection, user_id: str, *, active: str | None, pending: str | None
) -> None:
    values: dict[str, Any] = {"totp_secret": active, "totp_pending_secret": pending}
    if active is None:
        values["totp_last_step"] = None
    conn.execute(t.users.update().where(_U.id == user_id).values(values))


def spend_totp_step(conn: Connection, user_id: str, step: int) -> bool:
    spent = conn.execute(
        t.users.update()
        .where(
            _U.id == user_id,
            sa.or_(_U.totp_last_step.is_(None), _U.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(spent.rowcount == 1)


def known_schools(conn: Connection, school_ids: Collection[str]) -> set[str]:
    if not school_ids:
        return set()
    query = sa.select(t.schools.c.id).where(t.schools.c.id.in_(list(school_ids)))
    return set(conn.execute(query).scalars())


def agency_exists(conn: Connection, agency_id: str) -> bool:
    query = sa.select(t.agency_schools.c.school_id).where(t.agency_schools.c.agency_id == agency_id)
    return conn.execute(query).first() is not None


# --- sign-in failures and refresh tokens ---------------------------------------------------


def failures(conn: Connection, username: str) -> FailureRecord | None:
    lf = t.login_failures
    row = conn.execute(sa.select(lf.c.count, lf.c.last_at).where(lf.c.username == username)).first()
    if row is None:
        return None
    count, last_at = row
    return FailureRecord(count=int(count), last_at=utc(last_at))


def save_failures(conn: Connection, username: str, record: FailureRecord | None) -> None:
    lf = t.login_failures
    conn.execute(lf.delete().where(lf.c.username == username))
    if record is not None:
        conn.execute(
            lf.insert().values(username=username, count=record.count, last_at=utc(record.last_at))
        )


def add_refresh_token(
    conn: Connection, *, token_hash: str, user_id: str, expires_at: datetime
) -> None:
    conn.execute(
        t.refresh_tokens.insert().values(
            token_hash=token_hash, user_id=user_id, expires_at=utc(expires_at)
        )
    )


def spend_refresh_token(
    conn: Connection, token_hash: str, *, now: datetime, lock: bool
) -> SpentRefresh | None:
    tokens = t.refresh_tokens
    query = sa.select(tokens).where(tokens.c.token_hash == token_hash)
    # FOR UPDATE (PostgreSQL): two requests spending one token queue; the second sees it
    # spent. SQLite's single writer orders them already.
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    expired = utc(row.expires_at) <= now
    spent = row.revoked_at is not None
    if not spent and not expired:
        conn.execute(
            tokens.update().where(tokens.c.token_hash == token_hash).values(revoked_at=utc(now))
        )
    return SpentRefresh(user_id=row.user_id, already_spent=spent, expired=expired)


def revoke_refresh_token(conn: Connection, token_hash: str, *, now: datetime) -> str | None:
    tokens = t.refresh_tokens
    user_id: str | None = conn.execute(
        sa.select(tokens.c.user_id).where(tokens.c.token_hash == token_hash)
    ).scalar()
    conn.execute(
        tokens.update()
        .where(tokens.c.token_hash == token_hash, tokens.c.revoked_at.is_(None))
        .values(revoked_at=utc(now))
    )
    return user_id


# --- API keys ----------------------------------------------------------------------------


def _api_key(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        name=row.name,
        user_id=row.user_id,
        created_at=utc(row.created_at),
        revoked_at=utc(row.revoked_at) if row.revoked_at is not None else None,
    )


def add_api_key(conn: Connection, key: ApiKeyRecord, *, key_hash: str) -> None:
    conn.execute(
        t.api_keys.insert().values(
            id=key.id,
            key_hash=key_hash,
            name=key.name,
            user_id=key.user_id,
            created_at=utc(key.created_at),
        )
    )


def api_key(conn: Connection, key_id: str) -> ApiKeyRecord | None:
    row = conn.execute(sa.select(t.api_keys).where(t.api_keys.c.id == key_id)).first()
    return None if row is None else _api_key(row)


def api_keys(conn: Connection, *, user_ids: Collection[str] | None) -> list[ApiKeyRecord]:
    query = sa.select(t.api_keys).order_by(t.api_keys.c.created_at, t.api_keys.c.id)
    if user_ids is not None:
        query = query.where(t.api_keys.c.user_id.in_(list(user_ids)))
    return [_api_key(row) for row in conn.execute(query)]


def api_key_owner(conn: Connection, key_hash: str) -> str | None:
    keys = t.api_keys
    owner: str | None = conn.execute(
        sa.select(keys.c.user_id).where(keys.c.key_hash == key_hash, keys.c.revoked_at.is_(None))
    ).scalar()
    return owner


def revoke_api_key(conn: Connection, key_id: str, *, now: datetime) -> None:
    keys = t.api_keys
    conn.execute(
        keys.update()
        .where(keys.c.id == key_id, keys.c.revoked_at.is_(None))
        .values(revoked_at=utc(now))
    )
