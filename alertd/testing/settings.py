"""Settings for tests: a temp data dir, the demo district, quick polling."""

from __future__ import annotations

from pathlib import Path

from alertd.settings import Settings


def make_settings(data_dir: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "demo": True,
        "dev_mode": True,
        "secret_key": "test-secret-key-not-for-production",
        "sqlite_synchronous": "NORMAL",
        "outbox_poll_seconds": 0.2,
    }
    values.update(overrides)
    return Settings.model_validate(values)
