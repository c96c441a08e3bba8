"""Operating alertd: a mistyped setting is named, and no credential reaches a log line."""

from __future__ import annotations

import logging

from alertd.adapters.logging_json import JsonFormatter, RedactingFormatter, redact
from alertd.settings import unknown_variables

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl"


def test_unknown_alertd_variables_are_named_with_the_closest_setting() -> None:
    environ = {
        "ALERTD_REDIS_URLL": "redis://x",
        "ALERTD_SECRETKEY": "x",
        "ALERTD_FROBNICATE": "1",
        "ALERTD_PORT": "8000",  # known
        "ALERTD_VENV": ".venv",  # ./dev's, not the server's
        "PATH": "/usr/bin",
    }
    assert unknown_variables(environ) == [
        ("ALERTD_FROBNICATE", None),
        ("ALERTD_REDIS_URLL", "ALERTD_REDIS_URL"),
        ("ALERTD_SECRETKEY", "ALERTD_SECRET_KEY"),
    ]


def test_tokens_in_stream_urls_headers_and_forms_are_redacted() -> None:
    lines = {
        f'127.0.0.1:5 - "WebSocket /v1/stream?since=4&access_token={TOKEN}&school=a" [accepted]':
            '127.0.0.1:5 - "WebSocket /v1/stream?since=4&access_token=[redacted]&school=a" '
            "[accepted]",
        f"Authorization: Bearer {TOKEN}": "Authorization: Bearer [redacted]",
        f"grant_type=refresh_token&refresh_token={TOKEN}":
            "grant_type=refresh_token&refresh_token=[redacted]",
        "username=a@b.c&password=hunter2": "username=a@b.c&password=[redacted]",
        "GET /v1/alerts?school=lincoln-hs 200": "GET /v1/alerts?school=lincoln-hs 200",
    }  # fmt: skip
    for line, shown in lines.items():
        assert redact(line) == shown


def test_the_log_formatter_redacts_whatever_a_library_logs() -> None:
    record = logging.makeLogRecord(
        {
            "name": "uvicorn.error",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": '%s - "WebSocket %s" [accepted]',
            "args": ("127.0.0.1:5", f"/v1/stream?access_token={TOKEN}"),
        }
    )
    line = RedactingFormatter(JsonFormatter()).format(record)
    assert TOKEN not in line
    assert "access_token=[redacted]" in line
