"""Where signed audit checkpoints go: a JSON-lines file, and optionally a webhook.

Both are outside the database, which is the point: someone who can rewrite the database
cannot rewrite what was already written here (keep the file on another machine or volume,
or point the webhook at a system that keeps what it is sent).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx


class CheckpointFile:
    """Implements `alertd.app.audit.CheckpointLog`: one JSON document per line, appended and
    fsynced."""

    def __init__(self, path: Path) -> None:
        self._path = path

    async def keep(self, document: Mapping[str, Any]) -> None:
        await asyncio.to_thread(self._append, json.dumps(dict(document), sort_keys=True))

    def _append(self, line: str) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())

    def documents(self) -> list[Mapping[str, Any]]:
        if not self._path.exists():
            return []
        found: list[Mapping[str, Any]] = []
        for line in self._path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except ValueError:
                document = {}
            found.append(document if isinstance(document, dict) else {})
        return found


class CheckpointWebhook:
    """Implements `alertd.app.account_ports.CheckpointSink`: POSTs each checkpoint as JSON.
    Any answer but 2xx is a failure (retried at the next round)."""

    def __init__(self, url: str, *, timeout_seconds: float = 10.0) -> None:
        self._url = url
        self._timeout = timeout_seconds

    async def keep(self, document: Mapping[str, Any]) -> None:
        async with httpx.AsyncClient(timeout=self._timeout) as http:
            answer = await http.post(self._url, json=dict(document))
            answer.raise_for_status()
