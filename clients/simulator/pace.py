"""How the simulation's seconds pass: in real time (sped up by a factor), or on a server
clock the simulator moves itself.

`RealTime(speed)` sleeps: scenario second `t` comes `t / speed` seconds after the start, and
devices sign with the machine's clock. `ServerClock(clock)` is for tests that run alertd
on a clock they hold (`alertd.testing.clock.FakeClock`, passed to `create_app`): nothing
sleeps; before each moment of the timeline the server's clock is moved to it, so every
timestamp alertd records is the scenario's own, and the after-action report must match the
plan to the millisecond. It is not reachable from the command line: a real server's clock
is not the simulator's to move.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Pace(Protocol):
    concurrent: bool  # actions of later moments may start before earlier ones finish
    scale: float  # server seconds per scenario second

    def start(self) -> None: ...

    async def until(self, at: float) -> None:
        """Return when scenario second `at` has come."""

    def now(self) -> datetime:
        """The time a device signs with (the server's idea of now)."""

    def elapsed(self) -> float:
        """Scenario seconds since the start."""


class RealTime:
    concurrent = True

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.scale = 1 / speed
        self._started = time.monotonic()

    def start(self) -> None:
        self._started = time.monotonic()

    async def until(self, at: float) -> None:
        delay = self._started + at / self.speed - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def elapsed(self) -> float:
        return (time.monotonic() - self._started) * self.speed


class MovableClock(Protocol):
    def now(self) -> datetime: ...

    def advance(self, seconds: float) -> None: ...


class ServerClock:
    """Moves the server's own clock (tests only; see the module's docstring)."""

    concurrent = False
    scale = 1.0

    def __init__(self, clock: MovableClock) -> None:
        self._clock = clock
        self._start = clock.now()

    def start(self) -> None:
        self._start = self._clock.now()

    async def until(self, at: float) -> None:
        target = self._start + timedelta(seconds=at)
        ahead = (target - self._clock.now()).total_seconds()
        if ahead > 0:
            self._clock.advance(ahead)
        await asyncio.sleep(0)

    def now(self) -> datetime:
        return self._clock.now()

    def elapsed(self) -> float:
        return (self._clock.now() - self._start).total_seconds()
