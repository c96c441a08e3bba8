"""The embedded SMS gateway: with no Twilio credentials, texts go to a JSON-lines file.

It sends nothing anywhere. It lets the demo and the tests see exactly what would be texted
(and called: a call is a line with "channel": "voice" and the script as its body).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import orjson

from alertd.app.ports import Receipt
from alertd.core.delivery import DeliveryState


class SmsOutboxFile:
    """Implements `alertd.app.ports.SmsGateway` by appending one line per text.

    The file stays open and each line is flushed at once: an append of a few hundred bytes
    to the page cache is cheaper than handing it to a thread.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: BinaryIO | None = None

    @property
    def path(self) -> Path:
        return self._path

    async def send_sms(self, *, to: str, body: str, alert_id: str, drill: bool) -> Receipt:
        return self._write({"to": to, "body": body, "alert_id": alert_id, "drill": drill})

    async def place_call(self, *, to: str, script: str, alert_id: str, drill: bool) -> Receipt:
        line = {"to": to, "body": script, "alert_id": alert_id, "drill": drill}
        return self._write(line | {"channel": "voice"})

    def _write(self, message: dict[str, object]) -> Receipt:
        line = {"at": datetime.now(UTC).isoformat(), **message}
        if self._handle is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self._path.open("ab")
        self._handle.write(orjson.dumps(line) + b"\n")
        self._handle.flush()
        return Receipt(DeliveryState.RECORDED)  # written down; nothing was sent anywhere

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
