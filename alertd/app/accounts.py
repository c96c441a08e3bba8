"""Use cases on people's accounts: create, list, change, disable, API keys, second factor
reset, signing someone out everywhere. One transaction per command, audited inside it.

Who may do what is asked of `alertd.core.account` (who may grant which role where) and
`alertd.core.permission` (the role table); this layer only asks.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from alertd.app.account_ports import (
    AccountStore,
    AccountTransaction,
    ApiKeyRecord,
    NewAccount,
    PasswordHasher,
)
from alertd.app.ports import Clock
from alertd.app.service import require
from alertd.core.account import (
    Account,
    AccountChange,
    Affiliation,
    AffiliationPatch,
    changes_of,
    check_may_grant,
    check_may_manage,
    check_password,
    normalize_email,
    normalize_phone,
    require_manage_accounts,
)
from alertd.core.audit import AuditEntry
from alertd.core.errors import Forbidden, NotFound, ValidationFailed
from alertd.core.login import API_KEY_PREFIX, fingerprint
from alertd.core.permission import Action, Principal, Verdict, authorize


@dataclass(frozen=True, slots=True)
class IssuedKey:
    record: ApiKeyRecord
    key: str  # in clear: shown once, never stored


class AccountService:
    """Admins' work on accounts. Every method commits all of its writes or none; errors
    from `alertd.core.errors` are permanent for the request as sent."""

    def __init__(
        self,
        *,
        store: AccountStore,
        passwords: PasswordHasher,
        clock: Clock,
        on_sessions_ended: Callable[[str], None] = lambda _user_id: None,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._clock = clock
        # Tells this process's principal cache at once; other processes see it within the
        # cache's lifetime (alertd.app.signin.PrincipalCache).
        self._on_sessions_ended = on_sessions_ended

    async def create(
        self,
        *,
        principal: Principal,
        email: str,
        name: str,
        affiliation: Affiliation,
        password: str,
        phone: str | None = None,
    ) -> Account:
        """Create an account with a password. ValidationFailed names a bad or taken field."""
        affiliation = affiliation.normalize()
        check_may_grant(principal, affiliation)
        email = normalize_email(email)
        name = _clean_name(name)
        check_password(password)
        phone = normalize_phone(phone) if phone is not None else None
        password_hash = await self._passwords.hash(password)
        now = self._clock.now()
        new = NewAccount(
            id=str(uuid.uuid4()),
            email=email,
            name=name,
            affiliation=affiliation,
            password_hash=password_hash,
            created_at=now,
            phone=phone,
        )
        async with self._store.transaction() as tx:
            if await tx.account_by_email(email) is not None:
                raise ValidationFailed("email", "already in use")
            await check_references(tx, affiliation)
            await tx.add_account(new)
            account = await tx.account(new.id)
            assert account is not None
            detail: dict[str, object] = {
                "email": email,
                "role": affiliation.role.value,
                "school_ids": list(affiliation.school_ids),
            }
            if affiliation.agency_id:
                detail["agency_id"] = affiliation.agency_id
            if phone:
                detail["phone"] = phone
            await tx.audit([self._entry(principal, "user.create", account, detail)])
        return account

    async def list_accounts(
        self, *, principal: Principal, school_id: str | None = None
    ) -> list[Account]:
        """The accounts `principal` manages (of one school, if given), by e-mail."""
        require_manage_accounts(principal)
        if school_id is not None and not principal.covers(school_id):
            raise NotFound("school", school_id)
        schools = frozenset({school_id}) if school_id is not None else principal.school_ids
        found = await self._store.accounts(school_ids=schools)
        return [a for a in found if _manages(principal, a)]

    async def get(self, user_id: str, *, principal: Principal) -> Account:
        account = await self._store.account(user_id)
        if account is None:
            raise NotFound("user", user_id)
        check_may_manage(principal, account)
        return account

    async def change(
        self,
        user_id: str,
        change: AccountChange,
        *,
        principal: Principal,
        patch: AffiliationPatch | None = None,
    ) -> Account:
        """Rename, give another role or schools (a whole affiliation in `change`, or the
        parts in `patch`), disable or enable. Disabling or a new role ends every token and
        session of the account at once (within the principal cache's lifetime on other
        instances). Nobody changes their own role or schools, or disables themselves."""
        if change.name is not None:
            change = replace(change, name=_clean_name(change.name))
        if change.affiliation is not None:
            change = replace(change, affiliation=change.affiliation.normalize())
        if change.phone is not None:
            change = replace(change, phone=normalize_phone(change.phone) or "")
        if user_id == principal.actor.id and (change.affiliation or change.disabled or patch):
            raise Forbidden("ask another admin to change your own role, schools or access")
        now = self._clock.now()
        async with self._store.transaction() as tx:
            account = await self._managed(tx, user_id, principal)
            if patch is not None:
                change = replace(change, affiliation=patch.applied_to(account).normalize())
            if change.affiliation is not None:
                check_may_grant(principal, change.affiliation)
                await check_references(tx, change.affiliation)
            changed = changes_of(account, change)
            if not changed:
                return account
            await tx.change_account(user_id, change)
            if changed.get("disabled") is True or "role" in changed:
                await tx.end_sessions(user_id, now=now)
            updated = await tx.account(user_id)
            assert updated is not None
            action = _change_action(changed)
            await tx.audit([self._entry(principal, action, updated, {"changed": changed})])
        if changed.get("disabled") is True or "role" in changed:
            self._on_sessions_ended(user_id)
        return updated

    async def sign_out_everywhere(self, user_id: str, *, principal: Principal) -> None:
        """End every session, access and refresh token of the user (API keys stay: revoke
        those one by one). Anyone may do it for themselves; admins for those they manage."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            if user_id == principal.actor.id:
                verdict = authorize(principal, Action.SIGN_OUT_EVERYWHERE)
                if verdict is not Verdict.ALLOW:
                    raise Forbidden("only people sign out")
                account = await tx.account(user_id)
                if account is None:
                    raise Forbidden("only people sign out")
            else:
                account = await self._managed(tx, user_id, principal)
                _require(principal, Action.REVOKE_SESSIONS)
            await tx.end_sessions(user_id, now=now)
            await tx.audit([self._entry(principal, "auth.sign_out_everywhere", account, {})])
        self._on_sessions_ended(user_id)

    async def reset_second_factor(self, user_id: str, *, principal: Principal) -> Account:
        """Turn the user's second factor off (a lost phone): they sign in with the password
        alone, and enrol again. Their sessions stay."""
        async with self._store.transaction() as tx:
            account = await self._managed(tx, user_id, principal)
            _require(principal, Action.RESET_SECOND_FACTOR)
            await tx.set_second_factor(user_id, active=None, pending=None)
            await tx.audit([self._entry(principal, "auth.totp_reset", account, {})])
            updated = await tx.account(user_id)
        assert updated is not None
        return updated

    # --- API keys ---------------------------------------------------------------------

    async def issue_api_key(self, user_id: str, *, name: str, principal: Principal) -> IssuedKey:
        """A key acting as the user (its role and schools), shown once: only its hash stays."""
        name = _clean_name(name)
        raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(
            id=str(uuid.uuid4()), name=name, user_id=user_id, created_at=self._clock.now()
        )
        async with self._store.transaction() as tx:
            account = await self._managed(tx, user_id, principal)
            _require(principal, Action.MANAGE_API_KEYS)
            if account.disabled:
                raise ValidationFailed("user_id", "the user is disabled")
            await tx.add_api_key(record, key_hash=fingerprint(raw_key))
            detail = {"user_id": user_id, "name": name}
            entry = self._entry(principal, "api_key.create", account, detail, subject=record.id)
            await tx.audit([entry])
        return IssuedKey(record, raw_key)

    async def api_keys(
        self, *, principal: Principal, user_id: str | None = None
    ) -> list[tuple[ApiKeyRecord, Account]]:
        """The keys of the users `principal` manages (of one user, if given), live first."""
        _require(principal, Action.MANAGE_API_KEYS)
        if user_id is not None:
            owners = {user_id: await self.get(user_id, principal=principal)}
        else:
            owners = {a.id: a for a in await self.list_accounts(principal=principal)}
        keys = await self._store.api_keys(user_ids=list(owners))
        keys.sort(key=lambda k: (k.revoked_at is not None, k.created_at), reverse=False)
        return [(k, owners[k.user_id]) for k in keys if k.user_id in owners]

    async def revoke_api_key(self, key_id: str, *, principal: Principal) -> None:
        """Revoke a key; revoking a revoked key changes nothing. NotFound hides other
        schools' keys."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            key = await tx.api_key(key_id)
            if key is None:
                raise NotFound("api key", key_id)
            try:
                account = await self._managed(tx, key.user_id, principal)
            except NotFound:
                raise NotFound("api key", key_id) from None
            _require(principal, Action.MANAGE_API_KEYS)
            if key.revoked_at is None:
                await tx.revoke_api_key(key_id, now=now)
                detail = {"user_id": key.user_id}
                await tx.audit(
                    [self._entry(principal, "api_key.revoke", account, detail, subject=key_id)]
                )
        self._on_sessions_ended(key.user_id)  # this instance forgets the key at once

    async def _managed(self, tx: AccountTransaction, user_id: str, principal: Principal) -> Account:
        account = await tx.account(user_id)
        if account is None:
            raise NotFound("user", user_id)
        check_may_manage(principal, account)
        return account

    def _entry(
        self,
        principal: Principal,
        action: str,
        account: Account,
        detail: Mapping[str, object],
        *,
        subject: str | None = None,
    ) -> AuditEntry:
        return AuditEntry.about(
            principal,
            action,
            at=self._clock.now(),
            school_ids=account.school_ids,
            subject=subject or account.id,
            detail=detail,
        )


async def check_references(tx: AccountTransaction, affiliation: Affiliation) -> None:
    """The schools and the agency exist (ValidationFailed names the field)."""
    known = await tx.known_schools(affiliation.school_ids)
    for school_id in affiliation.school_ids:
        if school_id not in known:
            raise ValidationFailed("school_ids", f"no school {school_id!r}")
    if affiliation.agency_id is not None and not await tx.agency_exists(affiliation.agency_id):
        raise ValidationFailed("agency_id", f"no agency {affiliation.agency_id!r} covers a school")


def _manages(principal: Principal, account: Account) -> bool:
    try:
        check_may_manage(principal, account)
    except (NotFound, Forbidden):
        return False
    return True


def _require(principal: Principal, action: Action) -> None:
    require(authorize(principal, action), what="user", ident="", action=action)


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed("name", "required")
    if len(name) > 200:
        raise ValidationFailed("name", "at most 200 characters")
    return name


def _change_action(changed: Mapping[str, object]) -> str:
    if set(changed) == {"disabled"}:
        return "user.disable" if changed["disabled"] else "user.enable"
    return "user.change"
