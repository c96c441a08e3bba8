"""The account ports (`alertd.app.account_ports`) on SQLAlchemy Core: one class for the
writes of a transaction, one for the reads. The statements live beside their tables'
topics: `users` (accounts and credentials), `devices`, `audit`; single sign-on is here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters.db import device_health, devices, users
from alertd.adapters.db import schema as t
from alertd.adapters.db.audit import (
    append_audit,
    audit_hashes,
    audit_head,
    read_audit,
    verify_chain,
)
from alertd.adapters.db.engine import Database, WriteSession
from alertd.adapters.db.sites import insert_for
from alertd.app.account_ports import (
    ApiKeyRecord,
    DeviceRecord,
    NewAccount,
    PrincipalState,
    SpentRefresh,
    UserCredentials,
)
from alertd.core.account import Account, AccountChange, AccountSource, Affiliation
from alertd.core.audit import AuditEntry, AuditRecord, VerifyResult
from alertd.core.login import FailureRecord
from alertd.core.permission import Role
from alertd.core.sso import ClaimRule, OidcProvider
from alertd.core.supervision import DeviceHealth


class SqlAccountTransaction:
    """Implements `alertd.app.account_ports.AccountTransaction`."""

    def __init__(self, session: WriteSession, *, lock: bool) -> None:
        self._run = session.run
        self._lock = lock  # FOR UPDATE on PostgreSQL; SQLite's single writer excludes all

    async def account(self, user_id: str) -> Account | None:
        return await self._run(lambda c: users.account(c, user_id))

    async def account_by_email(self, email: str) -> Account | None:
        return await self._run(lambda c: users.account_by_email(c, email))

    async def credentials(self, user_id: str) -> UserCredentials | None:
        return await self._run(lambda c: users.credentials(c, t.users.c.id == user_id))

    async def every_account(self) -> list[Account]:
        return await self._run(lambda c: users.accounts(c, school_ids=None))

    async def add_account(self, new: NewAccount) -> None:
        await self._run(lambda c: users.add_account(c, new))

    async def change_account(
        self,
        user_id: str,
        change: AccountChange,
        *,
        source: AccountSource | None = None,
        external_id: str | None = None,
    ) -> None:
        await self._run(
            lambda c: users.change_account(
                c, user_id, change, source=source, external_id=external_id
            )
        )

    async def end_sessions(self, user_id: str, *, now: datetime) -> None:
        await self._run(lambda c: users.end_sessions(c, user_id, now=now))

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self._run(lambda c: users.set_password_hash(c, user_id, password_hash))

    async def set_second_factor(
        self, user_id: str, *, active: str | None, pending: str | None
    ) -> None:
        await self._run(
            lambda c: users.set_second_factor(c, user_id, active=active, pending=pending)
        )

    async def spend_totp_step(self, user_id: str, step: int) -> bool:
        return await self._run(lambda c: users.spend_totp_step(c, user_id, step))

    async def known_schools(self, school_ids: Collection[str]) -> set[str]:
        return await self._run(lambda c: users.known_schools(c, school_ids))

    async def agency_exists(self, agency_id: str) -> bool:
        return await self._run(lambda c: users.agency_exists(c, agency_id))

    async def failures(self, username: str) -> FailureRecord | None:
        return await self._run(lambda c: users.failures(c, username))

    async def save_failures(self, username: str, record: FailureRecord | None) -> None:
        await self._run(lambda c: users.save_failures(c, username, record))

    async def add_refresh_token(
        self, *, token_hash: str, user_id: str, expires_at: datetime
    ) -> None:
        await self._run(
            lambda c: users.add_refresh_token(
                c, token_hash=token_hash, user_id=user_id, expires_at=expires_at
            )
        )

    async def spend_refresh_token(self, token_hash: str, *, now: datetime) -> SpentRefresh | None:
        return await self._run(
            lambda c: users.spend_refresh_token(c, token_hash, now=now, lock=self._lock)
        )

    async def revoke_refresh_token(self, token_hash: str, *, now: datetime) -> str | None:
        return await self._run(lambda c: users.revoke_refresh_token(c, token_hash, now=now))

    async def add_api_key(self, key: ApiKeyRecord, *, key_hash: str) -> None:
        await self._run(lambda c: users.add_api_key(c, key, key_hash=key_hash))

    async def api_key(self, key_id: str) -> ApiKeyRecord | None:
        return await self._run(lambda c: users.api_key(c, key_id))

    async def revoke_api_key(self, key_id: str, *, now: datetime) -> None:
        await self._run(lambda c: users.revoke_api_key(c, key_id, now=now))

    async def device(self, device_id: str) -> DeviceRecord | None:
        return await self._run(lambda c: devices.get_device(c, device_id, lock=self._lock))

    async def add_device(self, record: DeviceRecord) -> bool:
        return await self._run(lambda c: devices.add_device(c, record))

    async def save_device(self, record: DeviceRecord) -> None:
        await self._run(lambda c: devices.save_device(c, record))

    async def supervise(self, health: DeviceHealth) -> None:
        await self._run(lambda c: device_health.save_health(c, health))

    async def use_nonce(
        self, device_id: str, nonce: str, *, now: datetime, forget_before: datetime
    ) -> bool:
        return await self._run(
            lambda c: devices.use_nonce(c, device_id, nonce, now=now, forget_before=forget_before)
        )

    async def key_raised(self, *, scope: str, key: str) -> bool:
        keys = t.idempotency_keys.c
        query = sa.select(keys.alert_id).where(keys.scope == scope, keys.key == key)
        return await self._run(lambda c: c.execute(query).first() is not None)

    async def school_of_room(self, room_id: str) -> str | None:
        return await self._run(lambda c: devices.school_of_room(c, room_id))

    async def oidc_provider(self, district_id: str) -> OidcProvider | None:
        return await self._run(lambda c: _oidc_provider(c, district_id))

    async def save_oidc_provider(self, provider: OidcProvider | None, *, district_id: str) -> None:
        await self._run(lambda c: _save_oidc_provider(c, provider, district_id=district_id))

    async def district_exists(self, district_id: str) -> bool:
        query = sa.select(t.districts.c.id).where(t.districts.c.id == district_id)
        return await self._run(lambda c: c.execute(query).first() is not None)

    async def audit(self, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        return await self._run(lambda c: append_audit(c, entries))

    async def audit_page(
        self, *, after: int, limit: int, school_ids: Collection[str] | None
    ) -> list[AuditRecord]:
        return await self._run(
            lambda c: read_audit(c, after_id=after, limit=limit, school_ids=school_ids)
        )


class SqlAccountStore:
    """Implements `alertd.app.account_ports.AccountStore`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlAccountTransaction]:
        async with self._db.write() as session:
            yield SqlAccountTransaction(session, lock=not self._db.is_sqlite)

    async def accounts(self, *, school_ids: frozenset[str] | None) -> list[Account]:
        return await self._db.read(lambda c: users.accounts(c, school_ids=school_ids))

    async def account(self, user_id: str) -> Account | None:
        return await self._db.read(lambda c: users.account(c, user_id))

    async def credentials_by_email(self, email: str) -> UserCredentials | None:
        return await self._db.read(lambda c: users.credentials(c, t.users.c.email == email))

    async def failures(self, username: str) -> FailureRecord | None:
        return await self._db.read(lambda c: users.failures(c, username))

    async def principal_state(self, user_id: str) -> PrincipalState | None:
        return await self._db.read(lambda c: users.principal_state(c, user_id))

    async def api_key_owner(self, key_hash: str) -> str | None:
        return await self._db.read(lambda c: users.api_key_owner(c, key_hash))

    async def api_keys(self, *, user_ids: Collection[str] | None) -> list[ApiKeyRecord]:
        return await self._db.read(lambda c: users.api_keys(c, user_ids=user_ids))

    async def device(self, device_id: str) -> DeviceRecord | None:
        return await self._db.read(lambda c: devices.get_device(c, device_id))

    async def devices(self, school_id: str) -> list[DeviceRecord]:
        return await self._db.read(lambda c: devices.list_devices(c, school_id))

    async def oidc_providers(self) -> list[OidcProvider]:
        query = sa.select(t.oidc_providers).order_by(t.oidc_providers.c.district_id)
        return await self._db.read(
            lambda c: [_provider_from(row.district_id, row.doc) for row in c.execute(query)]
        )

    async def verify_audit(self) -> VerifyResult:
        return await self._db.read(verify_chain)

    async def audit_hashes(self, entry_ids: Collection[int]) -> dict[int, str]:
        return await self._db.read(lambda c: audit_hashes(c, entry_ids))

    async def audit_head(self) -> tuple[int, str]:
        return await self._db.read(audit_head)


# --- single sign-on providers ------------------------------------------------------------


def _oidc_provider(conn: Connection, district_id: str) -> OidcProvider | None:
    doc = conn.execute(
        sa.select(t.oidc_providers.c.doc).where(t.oidc_providers.c.district_id == district_id)
    ).scalar_one_or_none()
    return None if doc is None else _provider_from(district_id, doc)


def _save_oidc_provider(
    conn: Connection, provider: OidcProvider | None, *, district_id: str
) -> None:
    table = t.oidc_providers
    if provider is None:
        conn.execute(table.delete().where(table.c.district_id == district_id))
        return
    doc = _provider_doc(provider)
    conn.execute(
        insert_for(conn.dialect.name, table)
        .values(district_id=district_id, doc=doc)
        .on_conflict_do_update(index_elements=["district_id"], set_={"doc": doc})
    )


def _provider_doc(provider: OidcProvider) -> dict[str, Any]:
    return {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,  # sealed by the app layer
        "allowed_domains": list(provider.allowed_domains),
        "create_accounts": provider.create_accounts,
        "display_name": provider.display_name,
        "rules": [
            {
                "claim": r.claim,
                "value": r.value,
                "role": r.affiliation.role.value,
                "school_ids": list(r.affiliation.school_ids),
                "agency_id": r.affiliation.agency_id,
            }
            for r in provider.rules
        ],
    }


def _provider_from(district_id: str, doc: dict[str, Any]) -> OidcProvider:
    return OidcProvider(
        district_id=district_id,
        issuer=doc["issuer"],
        client_id=doc["client_id"],
        client_secret=doc["client_secret"],
        allowed_domains=tuple(doc["allowed_domains"]),
        create_accounts=bool(doc["create_accounts"]),
        display_name=doc.get("display_name", "single sign-on"),
        rules=tuple(
            ClaimRule(
                r["claim"],
                r["value"],
                Affiliation(Role(r["role"]), tuple(r["school_ids"]), r.get("agency_id")),
            )
            for r in doc["rules"]
        ),
    )
