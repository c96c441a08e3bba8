"""The embedded SMS gateway: with no Twilio credentials, texts go to a JSON-lines file.

It sends nothing anywhere. It lets the demo and the tests see exactly what would be texted.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import orjson


class SmsOutboxFile:
    """Implements `alertd.app.ports.SmsGateway` by appending one line per text."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = asyncio.Lock()

    @property
    def path(self) -> Path:
        return self._path

    async def send_sms(self, *, to: str, body: str, alert_id: str, drill: bool) -> None:
        line = orjson.dumps(
            {
                "at": datetime.now(UTC).isoformat(),
                "to": to,
                "body": body,
                "alert_id": alert_id,
                "drill": drill,
            }
        )
        async with self._lock:
            await asyncio.to_thread(self._append, line + b"\n")

    def _append(self, line: bytes) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("ab") as handle:
            handle.write(line)
