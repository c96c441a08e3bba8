"""The serving process's garbage collector.

Everything built while the app starts (routes, validators, SQLAlchemy's metadata and
compiled statements, the site's caches) lives as long as the process, yet every full
collection walked all of it: in a burst of 500 presses, full collections paused the event
loop for up to 150 ms each, and the distinct alert waited behind them. `gc.freeze` moves
what exists once start-up is done out of the collector's sight; collections then walk only
what requests made. Only `alertd serve` calls it: a test process builds many apps.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    gc.collect()  # start-up's own garbage first: frozen cycles are never collected
    gc.freeze()
