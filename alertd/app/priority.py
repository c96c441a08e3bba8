"""Which raises go first when the database is busy: a distinct alert is never buried.

During a flood (dozens of staff pressing for one lockdown), the presses queue for the
database in arrival order. An alert of another school, another kind, or real among drills
is *distinct*: it is the first of its school, kind and drill flag within the window, and
asks for the database before the flood's queued presses (`Store.transaction(urgent=True)`).
The first press of the flood is distinct too: only the ones that follow it queue.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from alertd.core.command import RaiseAlert

# More (school, kind, drill) triples than this are pruned of the ones outside the window.
_KEEP = 1024


class DistinctAlerts:
    """Remembers when each (school, kind, drill) was last raised, on this instance."""

    def __init__(self, *, window: timedelta = timedelta(seconds=10)) -> None:
        self._window = window
        self._last_raised: dict[tuple[str, str, bool], datetime] = {}

    def is_distinct(self, command: RaiseAlert, *, now: datetime) -> bool:
        """Whether `command` is the first of its kind of alert within the window; records
        it either way, so that a flood stays a flood for as long as it lasts."""
        key = (command.school_id, command.kind.value, command.drill)
        last = self._last_raised.get(key)
        self._last_raised[key] = now
        if len(self._last_raised) > _KEEP:
            horizon = now - self._window
            self._last_raised = {k: at for k, at in self._last_raised.items() if at > horizon}
        return last is None or now - last > self._window
