"""Wiring of the roll (room accountability): the service, and its reminder round."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from alertd.adapters.db.claim import Instance
from alertd.adapters.db.engine import Database
from alertd.adapters.db.roll import SqlRollStore
from alertd.adapters.db.store import SqlStore
from alertd.adapters.worker import EffectWorker
from alertd.app.ports import Clock, EventBus
from alertd.app.roll import RollService
from alertd.core.roll_reminder import ReminderPolicy
from alertd.settings import Settings


@dataclass(frozen=True)
class RollWiring:
    service: RollService
    worker: EffectWorker  # the reminder round: start it with the other loops


def wire_roll(
    db: Database,
    settings: Settings,
    *,
    store: SqlStore,
    instance: Instance,
    bus: EventBus,
    clock: Clock,
    on_effects_queued: Callable[[], None],
) -> RollWiring:
    service = RollService(
        store=SqlRollStore(db, store=store, instance=instance),
        bus=bus,
        clock=clock,
        reminders=ReminderPolicy(
            interval=timedelta(seconds=settings.roll_reminder_seconds),
            limit=settings.roll_reminder_limit,
        ),
        on_effects_queued=on_effects_queued,
    )
    worker = EffectWorker(
        service, poll_seconds=settings.roll_round_seconds, name="alertd-roll-reminders"
    )
    return RollWiring(service, worker)
