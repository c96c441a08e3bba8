"""Settings: one pydantic-settings class, built once in main and passed down.

Every variable starts with ALERTD_. Nothing here reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'alertd.db').resolve()}"

    def resolved_sms_outbox(self) -> Path:
        return self.sms_outbox_file or self.data_dir / "sms-outbox.jsonl"
