"""Wire models of the accounts API, version 1: users, API keys, devices, signing in, single
sign-on and the audit trail. The admin pages and integrations build on these; `schemas/http/`
holds their JSON Schemas (`python -m alertd.adapters.wire.contract --write`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alertd.core.account import AccountSource
from alertd.core.device import DeviceKind
from alertd.core.device_signature import DEVICE_ID_PATTERN
from alertd.core.permission import Role

EMAIL_FIELD: Any = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
SCHOOLS_FIELD: Any = Field(default_factory=list, max_length=100)
PHONE_FIELD: Any = Field(
    default=None,
    max_length=32,
    description="E.164 (+15551234567). An SRO's or school admin's alerts are texted and "
    "called here; empty or null: none.",
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


# --- users -------------------------------------------------------------------------------


class NewUserIn(_In):
    """Create a user who signs in with a password. A school admin creates staff, SROs,
    drill coordinators and school admins at its own schools; a district admin anyone."""

    email: str = EMAIL_FIELD
    name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(min_length=8, max_length=1024)
    school_ids: list[str] = SCHOOLS_FIELD
    agency_id: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str | None = PHONE_FIELD


class UserChangeIn(_In):
    """Change a user: send only what changes. `role`, `school_ids` and `agency_id` are
    checked together (a dispatcher has an agency and no schools, and so on)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    school_ids: list[str] | None = Field(default=None, max_length=100)
    agency_id: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str | None = PHONE_FIELD


class UserOut(_Out):
    id: str
    email: str
    name: str
    role: Role
    agency_id: str | None
    school_ids: list[str]
    disabled: bool
    second_factor: bool = Field(description="a TOTP second factor is on")
    source: AccountSource = Field(description="local, roster (OneRoster import) or sso")
    created_at: datetime | None
    phone: str | None = Field(description="E.164; SROs and school admins are texted here")


class UserList(_Out):
    users: list[UserOut]


# --- API keys -------------------------------------------------------------------------------


class NewApiKeyIn(_In):
    name: str = Field(min_length=1, max_length=200, description="What the key is for.")


class ApiKeyIssued(_Out):
    id: str
    name: str
    user_id: str
    key: str = Field(description="Shown only now: alertd keeps a hash of it.")


class ApiKeyOut(_Out):
    id: str
    name: str
    user_id: str
    user_email: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyList(_Out):
    api_keys: list[ApiKeyOut]


# --- devices ------------------------------------------------------------------------------


class DeviceIn(_In):
    """Register a device. A wall button needs `room_id`; a badge needs `user_id`."""

    id: str | None = Field(
        default=None,
        pattern=DEVICE_ID_PATTERN.pattern,
        description="the device's own id (its serial number); generated when absent",
    )
    name: str = Field(min_length=1, max_length=200)
    kind: DeviceKind
    school_id: str = Field(min_length=1, max_length=64)
    room_id: str | None = Field(default=None, min_length=1, max_length=64)
    user_id: str | None = Field(default=None, min_length=1, max_length=36)
    heartbeat_interval_seconds: int | None = Field(
        default=None,
        ge=1,
        le=86400,
        description="supervise the device from now: no first heartbeat within this many "
        "seconds and it is reported silent (DeviceTrouble)",
    )


class DeviceOut(_Out):
    id: str
    name: str
    kind: DeviceKind
    school_id: str
    room_id: str | None
    user_id: str | None
    disabled: bool
    created_at: datetime
    last_seen_at: datetime | None = Field(description="its last signed request, if any")


class DeviceList(_Out):
    devices: list[DeviceOut]


class DeviceSecretOut(_Out):
    """A device and its secret. The secret is shown this once: nothing can show it again."""

    device: DeviceOut
    secret: str = Field(description="the HMAC key, as UTF-8; shown once")
    old_secret_valid_until: datetime | None = Field(
        default=None, description="after a rotation: until when the previous secret works"
    )


# --- signing in ------------------------------------------------------------------------------


class TokenAnswer(_Out):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token stays valid.")
    refresh_token: str = Field(description="Single use: spending it returns a new pair.")


class SessionAnswer(_Out):
    csrf_token: str = Field(description="Send it back as X-CSRF-Token on unsafe requests.")


class SecondFactorEnrolment(_Out):
    secret: str
    otpauth_uri: str


class SecondFactorCode(_In):
    code: str = Field(min_length=6, max_length=10)


# --- single sign-on --------------------------------------------------------------------------


class ClaimRuleIn(_In):
    """People whose `claim` holds `value` (equal, or among a list such as `groups`)."""

    claim: str = Field(min_length=1, max_length=100, examples=["groups"])
    value: str = Field(min_length=1, max_length=300)
    role: Role
    school_ids: list[str] = SCHOOLS_FIELD
    agency_id: str | None = Field(default=None, min_length=1, max_length=64)


class OidcProviderIn(_In):
    """A district's OpenID Connect provider. `client_secret` empty keeps the stored one."""

    issuer: str = Field(min_length=8, max_length=500, examples=["https://accounts.google.com"])
    client_id: str = Field(min_length=1, max_length=300)
    client_secret: str = Field(default="", max_length=1000)
    allowed_domains: list[str] = Field(min_length=1, max_length=20)
    rules: list[ClaimRuleIn] = Field(default_factory=list, max_length=200)
    create_accounts: bool = Field(
        default=False,
        description="create an account for a person without one when a rule matches",
    )
    display_name: str = Field(default="single sign-on", min_length=1, max_length=100)


class ClaimRuleOut(_Out):
    claim: str
    value: str
    role: Role
    school_ids: list[str]
    agency_id: str | None


class OidcProviderOut(_Out):
    """A district's provider as configured; the client secret is never shown."""

    district_id: str
    issuer: str
    client_id: str
    allowed_domains: list[str]
    rules: list[ClaimRuleOut]
    create_accounts: bool
    display_name: str
    redirect_uri: str = Field(description="register this callback URL with the provider")


class SignInOption(_Out):
    district_id: str
    display_name: str
    login_url: str


class SignInOptions(_Out):
    providers: list[SignInOption]


# --- the audit trail ---------------------------------------------------------------------------


class AuditEntryOut(_Out):
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)

    id: int
    at: str = Field(description="UTC, ISO 8601")
    actor_id: str
    actor_role: str
    action: str = Field(description='dotted, such as "auth.login" or "alert.acknowledge"')
    school_id: str | None
    subject: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(_Out):
    entries: list[AuditEntryOut]
    next_after: int = Field(description="pass as `after` to read on")


class AuditVerificationOut(_Out):
    """Whether the audit trail is intact: its hash chain, and the signed checkpoints of its
    head kept outside the database."""

    ok: bool
    entries: int = Field(description="entries checked")
    head_id: int
    bad_id: int | None = Field(description="the first entry at which the chain does not hold")
    reason: str | None
    checkpoints: int = Field(description="signed checkpoints the chain was held against")
    last_checkpoint_at: str | None
    last_checkpoint_id: int | None


class HeartbeatIn(_In):
    """A signed device's heartbeat (see `alertd.core.supervision`)."""

    interval_seconds: int = Field(
        ge=1, le=86400, description="silent longer than this, the device raises DeviceTrouble"
    )
    battery_percent: int | None = Field(default=None, ge=0, le=100)


class HeartbeatOut(_Out):
    device_id: str
    silent_after: datetime = Field(description="when the device counts as silent if unheard")
    battery_percent: int | None
    low_battery: bool


HTTP_MODELS: tuple[type[BaseModel], ...] = (
    NewUserIn,
    UserChangeIn,
    UserOut,
    UserList,
    NewApiKeyIn,
    ApiKeyIssued,
    ApiKeyList,
    DeviceIn,
    DeviceList,
    DeviceSecretOut,
    TokenAnswer,
    SessionAnswer,
    SecondFactorEnrolment,
    SecondFactorCode,
    OidcProviderIn,
    OidcProviderOut,
    SignInOptions,
    AuditPage,
    AuditVerificationOut,
    HeartbeatIn,
    HeartbeatOut,
)
