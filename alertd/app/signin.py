"""Signing in and out, and who is asking: the login flow, refresh tokens, the second factor,
and the per-request principal check behind every token, session and API key.

The login flow (`sign_in`): back-off first (429, the password is not checked), then the
password (401 naming no part), whether the account is enabled, then the second factor if the
account has one (401 naming `totp_code`); a code is good once. Every refusal is counted for
back-off and audited, and committed before it is answered.

Tokens and sessions carry the account's token epoch. Ending a user's sessions (sign out
everywhere, disabling, a new role) bumps the epoch, so every token issued before stops
working. The per-request check reads the account through `PrincipalCache`, which keeps an
answer for at most `ttl_seconds`: a disabled user is refused on every instance within that
time, and at once on the instance that disabled them.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from alertd.app.account_ports import (
    AccountStore,
    AccountTransaction,
    OneTimeCodes,
    PasswordHasher,
    PrincipalState,
    SecretBox,
    UserCredentials,
)
from alertd.app.ports import Clock
from alertd.core.account import Account, principal_of
from alertd.core.audit import AuditEntry
from alertd.core.errors import Forbidden, TooManyAttempts, Unauthenticated, ValidationFailed
from alertd.core.login import (
    SECOND_FACTOR_NEEDED,
    WRONG_CREDENTIALS,
    FailureRecord,
    code_is_fresh,
    fingerprint,
    next_failure_count,
    normalize_username,
    seconds_to_wait,
)
from alertd.core.permission import Action, Principal, Verdict, authorize

TOTP_PURPOSE = "totp-secret"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A successful sign-in. The adapter turns it into a bearer token or a session cookie
    carrying `token_epoch`; `refresh_token` (in clear, once) when one was asked for."""

    account: Account
    principal: Principal
    token_epoch: int
    refresh_token: str | None = None


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    otpauth_uri: str


_READ_FAILED = object()  # a shared read of an account failed: each waiter reads again


class PrincipalCache:
    """Answers of the per-request check, kept at most `ttl_seconds` (by `ticker`, a
    monotonic clock in seconds), at most `size` of them."""

    def __init__(self, *, ttl_seconds: float, ticker: Callable[[], float], size: int = 10_000):
        self._ttl = ttl_seconds
        self._ticker = ticker
        self._size = size
        self._items: OrderedDict[str, tuple[float, object]] = OrderedDict()

    def get(self, key: str) -> tuple[bool, object]:
        """(found, value); a value older than the lifetime is not found."""
        item = self._items.get(key)
        if item is None or self._ticker() - item[0] > self._ttl:
            return False, None
        return True, item[1]

    def put(self, key: str, value: object) -> None:
        if self._ttl <= 0:
            return
        self._items[key] = (self._ticker(), value)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def forget_user(self, user_id: str) -> None:
        """Drop the user's answer (and every API key answer, which may name them)."""
        self._items.pop(f"user:{user_id}", None)
        for key in [k for k in self._items if k.startswith("key:")]:
            del self._items[key]


class SignInService:
    def __init__(
        self,
        *,
        store: AccountStore,
        passwords: PasswordHasher,
        codes: OneTimeCodes,
        box: SecretBox,
        clock: Clock,
        cache: PrincipalCache,
        refresh_lifetime: timedelta,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._codes = codes
        self._box = box
        self._clock = clock
        self._cache = cache
        self._reading: dict[str, asyncio.Future[object]] = {}
        self._refresh_lifetime = refresh_lifetime

    # --- who is asking ----------------------------------------------------------------

    async def principal_for_token(self, user_id: str, *, token_epoch: int) -> Principal:
        """The principal behind a valid token or session of `user_id` issued at
        `token_epoch`. Unauthenticated when the account is gone or disabled, or its sessions
        were ended since."""
        state = await self._state(user_id)
        if state is None or state.account.disabled:
            raise Unauthenticated("this account cannot sign in")
        if token_epoch != state.token_epoch:
            raise Unauthenticated("signed out: sign in again")
        return principal_of(state.account, agency_school_ids=state.agency_school_ids)

    async def principal_for_api_key(self, raw_key: str) -> Principal:
        key_hash = fingerprint(raw_key)
        found, cached = self._cache.get(f"key:{key_hash}")
        if found:
            user_id = cached if isinstance(cached, str) else None
        else:
            user_id = await self._store.api_key_owner(key_hash)
            self._cache.put(f"key:{key_hash}", user_id)
        if user_id is None:
            raise Unauthenticated("the API key is not valid")
        state = await self._state(user_id)
        if state is None or state.account.disabled:
            raise Unauthenticated("the API key is not valid")
        return principal_of(state.account, agency_school_ids=state.agency_school_ids)

    def forget(self, user_id: str) -> None:
        """This process learns at once that the user's sessions ended."""
        self._cache.forget_user(user_id)
        self._reading.pop(f"user:{user_id}", None)  # a read under way may be from before

    async def _state(self, user_id: str) -> PrincipalState | None:
        key = f"user:{user_id}"
        found, cached = self._cache.get(key)
        if found:
            return cached if isinstance(cached, PrincipalState) else None
        # A burst of requests by one account reads it once: the others wait for that read.
        reading = self._reading.get(key) if self._cache.enabled else None
        if reading is not None:
            answer = await asyncio.shield(reading)
            if answer is not _READ_FAILED:
                return answer if isinstance(answer, PrincipalState) else None
        reading = asyncio.get_running_loop().create_future()
        self._reading[key] = reading
        try:
            state = await self._store.principal_state(user_id)
        except BaseException:
            reading.set_result(_READ_FAILED)  # the waiters read it themselves
            raise
        finally:
            if self._reading.get(key) is reading:
                del self._reading[key]
        self._cache.put(key, state)
        reading.set_result(state)
        return state

    # --- signing in and out -----------------------------------------------------------

    async def sign_in(
        self,
        username: str,
        password: str,
        totp_code: str = "",
        *,
        channel: str,
        with_refresh_token: bool,
    ) -> SignedIn:
        """Check a username, password and (if the account has one) second-factor code.

        Raises TooManyAttempts while the username is in back-off, Unauthenticated (naming
        `totp_code` when only the code is missing or wrong) otherwise. A refusal is
        recorded before it is raised.
        """
        if not username or not password:
            raise ValidationFailed("username" if not username else "password", "required")
        name = normalize_username(username)
        now = self._clock.now()
        wait = seconds_to_wait(await self._store.failures(name), now=now)
        if wait:
            raise TooManyAttempts(wait)
        creds = await self._store.credentials_by_email(name)
        if creds is None:
            await self._passwords.spend_verify_time(password)
            await self.refuse(name, None, reason="credentials")
        assert creds is not None
        right = await self._passwords.verify(creds.password_hash, password)
        if not right or creds.account.disabled:
            await self.refuse(name, creds.account, reason="credentials")
        step = self._second_factor_step(creds, totp_code)
        if step is None and creds.totp_secret is not None:
            await self.refuse(name, creds.account, reason="second_factor", field="totp_code")
        new_hash = None
        if self._passwords.needs_rehash(creds.password_hash):
            new_hash = await self._passwords.hash(password)
        account = creds.account
        async with self._store.transaction() as tx:
            fresh = step is None or await tx.spend_totp_step(account.id, step)
            if fresh:
                await tx.save_failures(name, None)
                if new_hash is not None:
                    await tx.set_password_hash(account.id, new_hash)
                refresh = (
                    await self._new_refresh_token(tx, account.id) if (with_refresh_token) else None
                )
                detail = {"channel": channel, "second_factor": step is not None}
                await tx.audit([_login_entry(account, "auth.login", detail, self._clock)])
        if not fresh:
            await self.refuse(name, account, reason="code_reused", field="totp_code")
        return await self._signed_in(account, refresh)

    async def refuse(
        self,
        username: str,
        account: Account | None,
        *,
        reason: str,
        field: str | None = None,
        message: str = WRONG_CREDENTIALS,
    ) -> None:
        """Count and audit a refused sign-in, commit, then raise Unauthenticated(message)."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            record = await tx.failures(username)
            count = next_failure_count(record, now=now)
            await tx.save_failures(username, FailureRecord(count=count, last_at=now))
            await tx.audit(
                [
                    AuditEntry(
                        at=now,
                        actor_id=account.id if account else "anonymous",
                        actor_role=account.role.value if account else "anonymous",
                        action="auth.login_failed",
                        subject=username[:200],
                        detail={"reason": reason},
                    )
                ]
            )
        if field is not None:
            message = SECOND_FACTOR_NEEDED
            if reason == "code_reused":
                message = "this code was used already: wait for the next one"
            raise Unauthenticated(message, field=field)
        raise Unauthenticated(message)

    async def signed_in(self, account: Account, *, channel: str) -> SignedIn:
        """Record a sign-in that another check vouched for (single sign-on) and answer it."""
        async with self._store.transaction() as tx:
            await tx.save_failures(account.email, None)
            detail = {"channel": channel, "second_factor": False}
            await tx.audit([_login_entry(account, "auth.login", detail, self._clock)])
        return await self._signed_in(account, None)

    async def refresh(self, presented: str) -> SignedIn:
        """Spend a refresh token for a new pair. A token presented twice was copied: every
        refresh token of its user is revoked and the user must sign in again."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            spent = await tx.spend_refresh_token(fingerprint(presented), now=now)
            account = await tx.account(spent.user_id) if spent is not None else None
            if spent is not None and not spent.expired:
                role = account.role.value if account else "unknown"
                if spent.already_spent:
                    await tx.end_sessions(spent.user_id, now=now)
                action = "auth.refresh_reused" if spent.already_spent else "auth.refresh"
                await tx.audit(
                    [AuditEntry(at=now, actor_id=spent.user_id, actor_role=role, action=action)]
                )
            usable = (
                spent is not None
                and not spent.expired
                and not spent.already_spent
                and account is not None
                and not account.disabled
            )
            new_token = (
                await self._new_refresh_token(tx, account.id)
                if (usable and account is not None)
                else None
            )
        if spent is not None and spent.already_spent:
            self.forget(spent.user_id)
            raise Unauthenticated("the refresh token was already used; sign in again")
        if new_token is None or account is None:
            raise Unauthenticated("the refresh token is not valid")
        return await self._signed_in(account, new_token)

    async def sign_out(self, *, session_user_id: str | None, refresh_token: str | None) -> None:
        """Revoke the refresh token given (if any) and audit the sign-out of its user and of
        the session's. The session cookie itself is cleared by the adapter."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            user_ids = {session_user_id} if session_user_id else set()
            if refresh_token:
                owner = await tx.revoke_refresh_token(fingerprint(refresh_token), now=now)
                if owner is not None:
                    user_ids.add(owner)
            entries = []
            for user_id in sorted(user_ids):
                account = await tx.account(user_id)
                role = account.role.value if account else "unknown"
                entries.append(
                    AuditEntry(at=now, actor_id=user_id, actor_role=role, action="auth.logout")
                )
            if entries:
                await tx.audit(entries)

    # --- the second factor ------------------------------------------------------------

    async def enrol_second_factor(self, *, principal: Principal) -> Enrolment:
        """Start enrolment: a new secret, shown once; `confirm_second_factor` turns it on."""
        self._may_enrol(principal)
        secret = self._codes.new_secret()
        async with self._store.transaction() as tx:
            creds = await tx.credentials(principal.actor.id)
            if creds is None:
                raise Forbidden("only people sign in with a second factor")
            if creds.totp_secret is not None:
                raise Forbidden("the second factor is already on; an admin can reset it")
            sealed = self._box.seal(secret, purpose=TOTP_PURPOSE)
            await tx.set_second_factor(creds.account.id, active=None, pending=sealed)
            await tx.audit([AuditEntry.by(principal, "auth.totp_enrol", at=self._clock.now())])
        uri = self._codes.provisioning_uri(secret, account=creds.account.email)
        return Enrolment(secret, uri)

    async def confirm_second_factor(self, code: str, *, principal: Principal) -> None:
        """Turn the enrolled second factor on with a first valid code (which is then spent)."""
        self._may_enrol(principal)
        now = self._clock.now()
        async with self._store.transaction() as tx:
            creds = await tx.credentials(principal.actor.id)
            if creds is None:
                raise Forbidden("only people sign in with a second factor")
            if creds.totp_pending_secret is None:
                raise ValidationFailed("code", "enrol first: POST /v1/auth/totp")
            pending = self._box.open(creds.totp_pending_secret, purpose=TOTP_PURPOSE)
            step = self._codes.matching_step(pending, code, now=now)
            if step is None:
                raise ValidationFailed("code", "the code is wrong or too old")
            await tx.set_second_factor(
                creds.account.id, active=creds.totp_pending_secret, pending=None
            )
            await tx.spend_totp_step(creds.account.id, step)
            await tx.audit([AuditEntry.by(principal, "auth.totp_enabled", at=now)])

    def _may_enrol(self, principal: Principal) -> None:
        if authorize(principal, Action.ENROL_SECOND_FACTOR) is not Verdict.ALLOW:
            raise Forbidden("the second factor is for dispatchers and admins")

    def _second_factor_step(self, creds: UserCredentials, code: str) -> int | None:
        if creds.totp_secret is None or not code:
            return None
        secret = self._box.open(creds.totp_secret, purpose=TOTP_PURPOSE)
        step = self._codes.matching_step(secret, code, now=self._clock.now())
        if step is None or not code_is_fresh(step, last_used_step=creds.totp_last_step):
            return None
        return step

    # --- pieces -----------------------------------------------------------------------

    async def _new_refresh_token(self, tx: AccountTransaction, user_id: str) -> str:
        token = secrets.token_urlsafe(32)
        await tx.add_refresh_token(
            token_hash=fingerprint(token),
            user_id=user_id,
            expires_at=self._clock.now() + self._refresh_lifetime,
        )
        return token

    async def _signed_in(self, account: Account, refresh_token: str | None) -> SignedIn:
        state = await self._store.principal_state(account.id)
        if state is None:
            raise Unauthenticated("this account cannot sign in")
        self._cache.put(f"user:{account.id}", state)
        principal = principal_of(state.account, agency_school_ids=state.agency_school_ids)
        return SignedIn(state.account, principal, state.token_epoch, refresh_token)


def _login_entry(
    account: Account, action: str, detail: dict[str, object], clock: Clock
) -> AuditEntry:
    return AuditEntry(
        at=clock.now(),
        actor_id=account.id,
        actor_role=account.role.value,
        action=action,
        detail=detail,
    )
