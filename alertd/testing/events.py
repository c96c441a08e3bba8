"""Reading the stream in tests: alert events apart from the notices that share the log."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from alertd.core.notice import NoticeType

NOTICE_TYPES = frozenset(notice.value for notice in NoticeType)
NOT_EVENTS = frozenset({"heartbeat", "caught_up"})


def is_alert_event(message: Mapping[str, Any]) -> bool:
    return message["type"] not in NOTICE_TYPES and message["type"] not in NOT_EVENTS


def alert_events(messages: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The alert events among stream messages (not notices, heartbeats or caught_up)."""
    return [m for m in messages if is_alert_event(m)]


def strictly_increasing(ids: Iterable[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(ids))
