"""Every Redis key alertd uses, in one place. All start with ALERTD_REDIS_PREFIX.

    <prefix>events   the event stream (XADD by every instance, XREAD by every instance).
                     Entry id `<event id>-0`, so the stream is in log order and Redis itself
                     refuses a second copy of an event; field `e` holds the event's JSON
                     (the same bytes as in the log and on the wire). Trimmed to about
                     ALERTD_REDIS_STREAM_MAXLEN entries: older events are read from the log.

Several databases (a test run, a staging and a production district) may share one Redis
server only under different prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass

EVENTS = "events"
EVENT_FIELD = b"e"


@dataclass(frozen=True, slots=True)
class RedisKeys:
    prefix: str

    @property
    def events(self) -> str:
        return f"{self.prefix}{EVENTS}"
