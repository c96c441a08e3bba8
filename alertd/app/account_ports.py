"""Ports of the account use cases (people, credentials, devices, the audit trail, sign-on).

Like `alertd.app.ports`: `AccountStore.transaction()` opens one database transaction; every
write of a command goes through the `AccountTransaction` it yields, committed together when
the block ends. The reads outside a transaction (`AccountStore`) are for the hot paths (who
is asking) and for listings. Secrets never cross these ports in clear: passwords arrive as
argon2 hashes, tokens and keys as their sha256, second-factor secrets sealed (`SecretBox`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from alertd.core.account import Account, AccountChange, AccountSource, Affiliation
from alertd.core.audit import AuditEntry, AuditRecord, VerifyResult
from alertd.core.device import Device
from alertd.core.device_signature import DeviceSecrets, derive_device_secret
from alertd.core.login import FailureRecord
from alertd.core.sso import OidcProvider
from alertd.core.supervision import DeviceHealth


@dataclass(frozen=True, slots=True)
class NewAccount:
    id: str
    email: str
    name: str
    affiliation: Affiliation
    password_hash: str
    created_at: datetime
    source: AccountSource = AccountSource.LOCAL
    external_id: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class UserCredentials:
    """What signing in needs of a user. The TOTP secrets are sealed (see `SecretBox`)."""

    account: Account
    password_hash: str = field(repr=False)
    totp_secret: str | None = field(repr=False)
    totp_pending_secret: str | None = field(repr=False)
    totp_last_step: int | None
    token_epoch: int


@dataclass(frozen=True, slots=True)
class PrincipalState:
    """An account as the per-request check needs it: its schools (a dispatcher's are those
    its agency covers) and its token epoch (tokens of an older epoch were revoked)."""

    account: Account
    agency_school_ids: frozenset[str]
    token_epoch: int


@dataclass(frozen=True, slots=True)
class SpentRefresh:
    """A refresh token that was presented: whose, and whether it had been spent already."""

    user_id: str
    already_spent: bool
    expired: bool


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    name: str
    user_id: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A device with the salts of its current and previous secret (hidden from `repr`)."""

    device: Device
    secret_salt: str = field(repr=False)
    previous_secret_salt: str | None = field(repr=False)
    previous_valid_until: datetime | None
    last_seen_at: datetime | None = None

    def secrets(self, server_key: str) -> DeviceSecrets:
        """The secrets this device may sign with, derived with the server's key."""
        device_id = self.device.id
        previous = (
            derive_device_secret(
                server_key=server_key, device_id=device_id, salt=self.previous_secret_salt
            )
            if self.previous_secret_salt is not None
            else None
        )
        return DeviceSecrets(
            current=derive_device_secret(
                server_key=server_key, device_id=device_id, salt=self.secret_salt
            ),
            previous=previous,
            previous_valid_until=self.previous_valid_until,
        )


class AccountTransaction(Protocol):
    """The writes of one account command, committed together or not at all."""

    async def account(self, user_id: str) -> Account | None: ...

    async def account_by_email(self, email: str) -> Account | None: ...

    async def credentials(self, user_id: str) -> UserCredentials | None: ...

    async def every_account(self) -> list[Account]:
        """Every account, for planning a roster import."""

    async def add_account(self, new: NewAccount) -> None:
        """Insert an account; its e-mail must be unused (check `account_by_email` first)."""

    async def change_account(
        self,
        user_id: str,
        change: AccountChange,
        *,
        source: AccountSource | None = None,
        external_id: str | None = None,
    ) -> None:
        """Apply the parts of `change` that are not None (and the source, if given)."""

    async def end_sessions(self, user_id: str, *, now: datetime) -> None:
        """Bump the token epoch (every access token and session of the user stops working)
        and revoke every refresh token."""

    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...

    async def set_second_factor(
        self, user_id: str, *, active: str | None, pending: str | None
    ) -> None:
        """Store the sealed secrets; clearing the active one also forgets the last step."""

    async def spend_totp_step(self, user_id: str, step: int) -> bool:
        """Record that a code of time step `step` was used; False if that step or a later one
        was used already (atomic: two uses of one code cannot both succeed)."""

    async def known_schools(self, school_ids: Collection[str]) -> set[str]: ...

    async def agency_exists(self, agency_id: str) -> bool: ...

    async def failures(self, username: str) -> FailureRecord | None: ...

    async def save_failures(self, username: str, record: FailureRecord | None) -> None:
        """Store the failure record of a username; None forgets it."""

    async def add_refresh_token(
        self, *, token_hash: str, user_id: str, expires_at: datetime
    ) -> None: ...

    async def spend_refresh_token(self, token_hash: str, *, now: datetime) -> SpentRefresh | None:
        """Mark the token spent (locked against a concurrent spend); None if unknown."""

    async def revoke_refresh_token(self, token_hash: str, *, now: datetime) -> str | None:
        """Revoke one refresh token; its user id, or None if unknown."""

    async def add_api_key(self, key: ApiKeyRecord, *, key_hash: str) -> None: ...

    async def api_key(self, key_id: str) -> ApiKeyRecord | None: ...

    async def revoke_api_key(self, key_id: str, *, now: datetime) -> None: ...

    async def device(self, device_id: str) -> DeviceRecord | None:
        """The device (disabled or not), locked against concurrent changes until commit."""

    async def add_device(self, record: DeviceRecord) -> bool:
        """Insert a device; False when a device (even a disabled one) has this id."""

    async def save_device(self, record: DeviceRecord) -> None:
        """Write the device's salts, grace period and disabled flag."""

    async def supervise(self, health: DeviceHealth) -> None:
        """Start supervising a device: its health row, as `core.supervision` made it."""

    async def use_nonce(
        self, device_id: str, nonce: str, *, now: datetime, forget_before: datetime
    ) -> bool:
        """Record the nonce; False if the device used it before (a replay). Atomic. Also
        forgets nonces seen before `forget_before`."""

    async def key_raised(self, *, scope: str, key: str) -> bool:
        """Has this Idempotency-Key of this actor already raised (or joined) an alert?"""

    async def school_of_room(self, room_id: str) -> str | None: ...

    async def oidc_provider(self, district_id: str) -> OidcProvider | None: ...

    async def save_oidc_provider(self, provider: OidcProvider | None, *, district_id: str) -> None:
        """Create, replace or (None) remove a district's single sign-on."""

    async def district_exists(self, district_id: str) -> bool: ...

    async def audit(self, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        """Append audit entries in this transaction; returns them as stored."""

    async def audit_page(
        self, *, after: int, limit: int, school_ids: Collection[str] | None
    ) -> list[AuditRecord]:
        """Entries after `after`, oldest first; `school_ids` None: every entry."""


class AccountStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[AccountTransaction]: ...

    async def accounts(self, *, school_ids: frozenset[str] | None) -> list[Account]:
        """Accounts with a school among `school_ids` (None: every account), by e-mail."""

    async def account(self, user_id: str) -> Account | None: ...

    async def credentials_by_email(self, email: str) -> UserCredentials | None: ...

    async def failures(self, username: str) -> FailureRecord | None: ...

    async def principal_state(self, user_id: str) -> PrincipalState | None:
        """The account behind a token, or None if there is no such user."""

    async def api_key_owner(self, key_hash: str) -> str | None:
        """The user a live (unrevoked) key acts as."""

    async def api_keys(self, *, user_ids: Collection[str] | None) -> list[ApiKeyRecord]: ...

    async def device(self, device_id: str) -> DeviceRecord | None: ...

    async def devices(self, school_id: str) -> list[DeviceRecord]: ...

    async def oidc_providers(self) -> list[OidcProvider]: ...

    async def verify_audit(self) -> VerifyResult:
        """Recompute the audit chain up to its head."""

    async def audit_hashes(self, entry_ids: Collection[int]) -> dict[int, str]:
        """The stored hash of each of these entries that exists."""

    async def audit_head(self) -> tuple[int, str]:
        """The id and hash of the last audit entry (0 and the genesis hash when empty)."""


class PasswordHasher(Protocol):
    """argon2, off the event loop. Slow on purpose: never call inside a transaction."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """A malformed hash is a mismatch, not an error."""

    async def spend_verify_time(self, password: str) -> None:
        """Take as long as a verification, for an unknown user (timing must not tell)."""

    def needs_rehash(self, password_hash: str) -> bool: ...


class OneTimeCodes(Protocol):
    """TOTP (RFC 6238)."""

    def new_secret(self) -> str: ...

    def provisioning_uri(self, secret: str, *, account: str) -> str: ...

    def matching_step(self, secret: str, code: str, *, now: datetime) -> int | None:
        """The time step at which `code` is right (one step of drift either way), or None."""


class SecretBox(Protocol):
    """Authenticated encryption of small secrets at rest, under a key the database does not
    hold. `purpose` binds a sealed value to its use (it cannot be moved to another column)."""

    def seal(self, plaintext: str, *, purpose: str) -> str: ...

    def open(self, sealed: str, *, purpose: str) -> str:
        """Raises ValueError if the value was not sealed with this key and purpose."""


@dataclass(frozen=True, slots=True)
class OidcStart:
    """Where to send the browser, and what the callback must find again (keep it in a signed
    cookie or a row; never show the verifier to anyone)."""

    url: str
    state: str
    nonce: str
    code_verifier: str = field(repr=False)


class OidcClient(Protocol):
    """The OpenID Connect authorization-code flow with PKCE against one provider."""

    async def start(self, provider: OidcProvider, *, redirect_uri: str) -> OidcStart: ...

    async def finish(
        self,
        provider: OidcProvider,
        *,
        redirect_uri: str,
        code: str,
        code_verifier: str,
        nonce: str,
    ) -> Mapping[str, Any]:
        """Exchange the code and return the ID token's verified claims (signature, issuer,
        audience, expiry, nonce). Raises Unauthenticated when any check fails."""


class CheckpointSink(Protocol):
    """Somewhere outside the database that keeps signed audit checkpoints."""

    async def keep(self, document: Mapping[str, Any]) -> None:
        """Store one checkpoint. Raises on failure; the next round tries again."""
