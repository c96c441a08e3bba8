"""JSON log lines for the process. Configured by main, never on import.

No credential reaches a log line: whatever a library logs (uvicorn logs every WebSocket
handshake with its query string, and the stream takes `access_token` there), tokens,
passwords and keys are replaced by `[redacted]` in the formatted line.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import orjson

_STANDARD = set(vars(logging.makeLogRecord({})))
REDACTED = "[redacted]"
_SECRETS = re.compile(
    r"(?P<name>(?:access_token|refresh_token|id_token|password|api_key|token)=)[^&\s\"']+"
    r"|(?P<scheme>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+"
    r"|(?P<header>X-API-Key[\"']?\s*[:=,]\s*[\"']?)[^\s\"',]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with every credential it carries replaced by [redacted]."""
    return _SECRETS.sub(
        lambda m: (m.group("name") or m.group("scheme") or m.group("header")) + REDACTED, text
    )


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then redacts credentials from the whole line."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self._inner.format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and k != "color_message"}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(*, fmt: str, level: str) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        inner: logging.Formatter = JsonFormatter()
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(RedactingFormatter(inner))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
