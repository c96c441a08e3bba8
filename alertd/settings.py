"""Settings: one pydantic-settings class, built once in main and passed down.

Every variable starts with ALERTD_. Nothing here reads the environment at import time.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"
ENV_PREFIX = "ALERTD_"
# ALERTD_* variables that belong to the project's tooling (./dev), not to the server.
TOOLING_VARIABLES = frozenset({"ALERTD_VENV", "ALERTD_TEST_WORKERS"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALERTD_", extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means a SQLite file alertd.db in the data dir.",
    )
    data_dir: Path = Field(default=Path("./alertd-data"), description="Where embedded state lives.")
    sqlite_synchronous: str = Field(
        default="FULL",
        pattern="^(FULL|NORMAL|EXTRA)$",
        description="SQLite fsync policy. FULL survives power loss; NORMAL survives kill -9.",
    )
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8000, ge=0, le=65535)
    log_format: str = Field(default="json", pattern="^(json|text)$")
    log_level: str = Field(default="INFO")
    max_body_bytes: int = Field(default=64 * 1024, description="Largest request body accepted.")
    max_site_bytes: int = Field(default=8 * 1024 * 1024, description="Largest site document.")
    stream_queue: int = Field(default=1000, description="Live events buffered per stream client.")
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    stream_send_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A client that takes longer to accept a message is cut."
    )
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    sms_outbox_file: Path | None = Field(
        default=None,
        description="Where the SMS outbox writes texts; default data_dir/sms-outbox.jsonl.",
    )
    demo: bool = Field(default=False, description="Seed the demo district at start-up.")
    dev_mode: bool = Field(
        default=False,
        description="Development mode: allows placeholder secrets and seeds demo users.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(PLACEHOLDER_SECRET),
        description="Signs access tokens and session cookies. Must be set outside dev mode.",
    )
    access_token_minutes: int = Field(default=15, ge=1, le=1440)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser."
    )
    device_clock_skew_seconds: int = Field(default=30, ge=1, le=300)
    device_buffer_max_age_hours: int = Field(
        default=72,
        ge=1,
        le=720,
        description="How old a press that a button bridge kept through an outage may be when "
        "it arrives: it still raises its alert, once, marked with its delay.",
    )
    device_secret_grace_hours: int = Field(
        default=24, ge=0, description="How long a rotated device secret stays valid."
    )
    repeat_press_seconds: int = Field(
        default=10, ge=0, description="A repeat press (same person/device, room, kind) joins."
    )
    # --- scale-out: several instances on one PostgreSQL and one Redis -------------------
    redis_url: str = Field(
        default="",
        description="redis:// URL of the Redis Streams event bus; empty: the in-process bus.",
    )
    redis_prefix: str = Field(
        default="alertd:",
        max_length=100,
        description="Prefix of every Redis key; one per database sharing a Redis server.",
    )
    redis_stream_maxlen: int = Field(
        default=10_000,
        ge=100,
        description="About how many recent events the Redis stream keeps (older: the log).",
    )
    heartbeat_seconds: float = Field(
        default=1.0, gt=0, description="How often an instance says it is alive."
    )
    instance_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="An instance silent this long is dead: others take over its claims.",
    )
    # Device supervision (core/supervision.py): silent or low-battery devices are alarms.
    device_supervision_seconds: float = Field(
        default=2.0, gt=0, description="How often overdue device heartbeats are looked for."
    )
    device_low_battery_percent: int = Field(
        default=20, ge=0, le=100, description="A device at or below this battery is in trouble."
    )
    # The roll (core/roll.py): rooms that have not reported are reminded.
    roll_reminder_seconds: float = Field(
        default=180.0,
        gt=0,
        description="Remind unreported rooms this long after a lockdown, evacuation or "
        "shelter starts, and again as long after each reminder.",
    )
    roll_reminder_limit: int = Field(
        default=3, ge=0, le=100, description="At most this many reminders per roll."
    )
    roll_round_seconds: float = Field(
        default=2.0, gt=0, description="How often due roll reminders are looked for."
    )
    access_log: bool = Field(
        default=False,
        description="Log one line per request (access tokens in URLs are redacted).",
    )

    console_dir: Path | None = Field(
        default=None,
        description="The dispatch console's files; default: dispatch_console/ of the checkout.",
    )
    public_url: str = Field(
        default="",
        description="The URL people and Twilio reach alertd at, behind any proxy "
        "(https://alertd.example.org): single sign-on redirects, console links in texts and "
        "Twilio's webhook URLs start with it. Empty: http://HOST:PORT (sign-on: the request's).",
    )
    principal_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=5,
        description="How long an instance trusts its last look at an account; a disabled "
        "user is refused everywhere within this time.",
    )
    audit_checkpoint_seconds: float = Field(
        default=300.0, ge=0, description="How often the audit head is checkpointed; 0: never."
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="Where signed audit checkpoints are appended; default "
        "data_dir/audit-checkpoints.jsonl. Keep it off the database's machine.",
    )
    audit_checkpoint_webhook_url: str = Field(
        default="", description="Also POST each signed checkpoint (JSON) here, if set."
    )
    audit_checkpoint_key: SecretStr = Field(
        default=SecretStr(""),
        description="Signs audit checkpoints (HMAC-SHA256); empty: derived from secret_key.",
    )
    # --- Twilio: texts and calls (without credentials: recorded in the SMS outbox) -------
    twilio_account_sid: str = Field(default="", description="Twilio account SID (AC...).")
    twilio_auth_token: SecretStr = Field(default=SecretStr(""), description="Its auth token.")
    twilio_auth_token_secondary: SecretStr = Field(
        default=SecretStr(""),
        description="A second auth token accepted on webhooks while tokens are rotated.",
    )
    twilio_from: str = Field(
        default="", description="Sender numbers, comma-separated (E.164 or short codes)."
    )
    twilio_messaging_service_sid: str = Field(
        default="", description="A Messaging Service SID (MG...) to send texts through."
    )
    twilio_fallback_account_sid: str = Field(
        default="", description="A second account that takes over when the first keeps failing."
    )
    twilio_fallback_auth_token: SecretStr = Field(default=SecretStr(""))
    twilio_fallback_from: str = Field(default="", description="The second account's numbers.")
    twilio_api_base: str = Field(
        default="",
        description="Replaces https://api.twilio.com (Twilio-compatible endpoints, tests).",
    )
    twilio_validity_seconds: int = Field(
        default=600, ge=1, le=36000, description="Twilio drops a text not sent in this time."
    )
    twilio_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="Hard timeout of one request to Twilio."
    )
    twilio_rate_per_sender: float | None = Field(
        default=None,
        ge=0,
        description="Texts per second per sender (0: unlimited); empty: by kind of sender.",
    )
    # --- Web Push to the staff and SRO apps (RFC 8030, VAPID RFC 8292) -------------------
    vapid_private_key: SecretStr = Field(
        default=SecretStr(""),
        description="The VAPID signing key (P-256 scalar, base64url); empty: derived from "
        "secret_key. Changing it invalidates every browser's push subscription.",
    )
    vapid_subject: str = Field(
        default="mailto:alertd@localhost",
        description="How push services reach the operator (mailto: or https: URL).",
    )
    # Cameras (live video over WHEP).
    camera_ice_servers: list[dict[str, str]] = Field(
        default=[],
        description='STUN/TURN servers for camera video, as JSON: [{"urls": "stun:host:3478"}, '
        '{"urls": "turn:host:3478", "username": "u", "credential": "p"}]. None by default: '
        "viewers reach alertd directly.",
    )
    camera_view_token_seconds: int = Field(
        default=120, ge=10, le=3600, description="How long a camera view token lasts."
    )
    camera_stall_seconds: float = Field(
        default=5.0, gt=0, description="No video for this long: the camera is offline."
    )
    camera_passthrough: bool = Field(
        default=True,
        description="Pass a camera's H.264 through to viewers; false decodes it once and "
        "encodes per viewer (only to compare, as the camera benchmark does).",
    )
    camera_linger_seconds: float = Field(
        default=5.0, ge=0, description="Keep a source open this long after its last viewer."
    )

    compliance_state: str = Field(
        default="NY",
        min_length=2,
        max_length=16,
        description="The state whose drill requirements the compliance page counts against.",
    )
    compliance_file: Path | None = Field(
        default=None,
        description="A TOML file of drill requirements per state; default: the packaged "
        "examples (configurable, not legal advice).",
    )

    def placeholder_secrets(self) -> list[str]:
        """The settings still at their placeholder values (refused outside dev mode)."""
        return (
            ["ALERTD_SECRET_KEY"]
            if self.secret_key.get_secret_value() == PLACEHOLDER_SECRET
            else []
        )

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'alertd.db').resolve()}"

    def resolved_sms_outbox(self) -> Path:
        return self.sms_outbox_file or self.data_dir / "sms-outbox.jsonl"

    def resolved_audit_checkpoint_file(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"

    def resolved_audit_checkpoint_key(self) -> bytes:
        """The checkpoint signing key: its own setting, or one derived from the secret key
        (the database holds neither)."""
        own = self.audit_checkpoint_key.get_secret_value()
        if own:
            return own.encode()
        server = self.secret_key.get_secret_value().encode()
        return hmac.new(server, b"alertd.audit-checkpoint-key.v1", hashlib.sha256).digest()

    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def twilio_configured(self) -> bool:
        """Credentials and at least one sender: texts are really sent."""
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token.get_secret_value()
            and (self.twilio_from or self.twilio_messaging_service_sid)
        )

    def twilio_senders(self) -> tuple[str, ...]:
        numbers = [n.strip() for n in self.twilio_from.split(",") if n.strip()]
        service = [self.twilio_messaging_service_sid] if self.twilio_messaging_service_sid else []
        return (*numbers, *service)

    def twilio_fallback_senders(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.twilio_fallback_from.split(",") if n.strip())


def unknown_variables(environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """The ALERTD_* variables no setting reads, each with the closest known name (or None).

    A typo (ALERTD_REDIS_URLL) would otherwise be dropped without a word, and the server
    would run on defaults the operator never chose.
    """
    known = [f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields]
    unknown = []
    for name in sorted(environ):
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and upper not in known and upper not in TOOLING_VARIABLES:
            close = difflib.get_close_matches(upper, known, n=1, cutoff=0.75)
            unknown.append((name, close[0] if close else None))
    return unknown
