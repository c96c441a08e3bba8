"""Ports: what the use cases need from the world, as Protocols. Adapters implement them.

Call order for a command: `Store.transaction()` opens one database transaction; every write
of the command goes through the `Transaction` it yields; leaving the block commits (or rolls
back on an exception). Only after the commit are events published on the `EventBus`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from alertd.core.alert import Alert, AlertEvent, AlertState
from alertd.core.audit import AuditEntry
from alertd.core.delivery import Delivery, DeliveryState
from alertd.core.effect import Effect
from alertd.core.escalation import Escalation, Policy
from alertd.core.kind import AlertKind
from alertd.core.notice import DomainEvent
from alertd.core.push import PushTarget
from alertd.core.repeat import PressKey
from alertd.core.routing import Recipient
from alertd.core.site import School, Site


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event after commit, with its position in the append-only log.

    Ids are assigned in commit order, so a reader who has seen id k and later sees id k+2
    knows that k+1 is committed and can be read from the log.
    """

    id: int
    event: DomainEvent


@dataclass(frozen=True, slots=True)
class RoomRef:
    id: str
    school_id: str
    label: str


@dataclass(frozen=True, slots=True)
class SchoolRef:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class SiteContext:
    """The school, the room, and everyone who could be told: the site's contacts and
    agencies, and the SROs and school admins whose user profiles hold a phone number."""

    school: SchoolRef | None
    room: RoomRef | None
    recipients: tuple[Recipient, ...]
    timezone: str = "UTC"  # the school's IANA time zone
    push_targets: tuple[PushTarget, ...] = ()  # browsers subscribed to Web Push there


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    alert_id: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class AlertFilter:
    school_ids: frozenset[str] | None = None
    states: frozenset[AlertState] | None = None
    kinds: frozenset[AlertKind] | None = None
    drill: bool | None = None
    raised_after: datetime | None = None
    raised_before: datetime | None = None
    limit: int = 100
    # Only alerts raised by `raised_by_or_kinds[0]` or of a kind in `[1]` (what staff see).
    raised_by_or_kinds: tuple[str, frozenset[AlertKind]] | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A claimed effect. `delivery_id` names its row of the delivery ledger, if it has one.

    `provider_ref`: the provider already accepted it (its SID is on record): never send it
    again. `resumed`: an earlier claim of it was never settled (that instance died), so an
    earlier attempt may have gone out. `opted_out`: its number replied STOP.
    """

    id: int
    effect: Effect
    attempts: int
    delivery_id: int | None = None
    provider_ref: str | None = None
    resumed: bool = False
    opted_out: bool = False


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a provider answered when it took a message.

    `state` is where the delivery stands now: RECORDED (no provider: written down, sent
    nowhere), QUEUED or SENT (the provider accepted it; later reports move it on).
    `provider_ref` is the provider's id for the message (a Twilio Message SID).
    """

    state: DeliveryState
    provider_ref: str | None = None
    sender: str | None = None  # the number (or service SID) it went out from


class Outcome(StrEnum):
    DONE = "done"  # the effect ran; never run it again
    RETRY = "retry"  # a temporary failure: run it again at `at`
    FAILED = "failed"  # a permanent failure, or too many attempts: give up, on record


@dataclass(frozen=True, slots=True)
class Settlement:
    """What became of one claimed effect. `at` is when a RETRY is due again."""

    item: OutboxItem
    outcome: Outcome
    at: datetime
    error: str | None = None
    receipt: Receipt | None = None
    error_code: int | None = None
    repeat_possible: bool = False  # this attempt may repeat one that reached the provider


@dataclass(frozen=True, slots=True)
class LogQuery:
    after: int
    limit: int
    school_ids: frozenset[str] | None = field(default=None)


class Transaction(Protocol):
    """The writes of one command, committed together or not at all.

    Each method is one round trip to the database; a command makes few of them.
    """

    async def claim_idempotency_key(
        self, *, scope: str, key: str, fingerprint: str, alert_id: str
    ) -> IdempotencyRecord | None:
        """Record the key for `alert_id`; return the earlier record if the key was used."""

    async def site_context(self, *, school_id: str, room_id: str | None) -> SiteContext:
        """The school, the room (None if unknown), who could be texted there and the
        browsers subscribed to Web Push by people of the school."""

    async def get_alert(self, alert_id: str) -> Alert | None:
        """The alert, locked against concurrent commands until commit."""

    async def lock_press(self, press: PressKey) -> None:
        """Wait until no other transaction raises a press with this key, and keep them
        waiting until commit: a repeat press then sees the alert the first opened. Presses
        with other keys (another room, kind, raiser or school) do not wait."""

    async def recent_alerts(self, press: PressKey, *, since: datetime) -> list[Alert]:
        """Alerts raised since `since` with the press's key (raiser, school, room, kind,
        drill): the candidates a repeat press joins. Only those: a raiser's flood of
        presses for other rooms is not read back for each press."""

    async def record(
        self,
        alert: Alert,
        *,
        new: bool,
        events: Sequence[AlertEvent],
        effects: Sequence[Effect],
        audit: Sequence[AuditEntry],
        now: datetime,
    ) -> list[LoggedEvent]:
        """Write the alert, queue its effects (due at `now`), append its events (ids
        strictly increasing in commit order) and its audit entries. The log and the audit
        trail are held from here until commit, against every other command: make it the
        command's last write."""

    async def audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append audit entries in this transaction."""

    async def append(self, events: Sequence[DomainEvent]) -> list[LoggedEvent]:
        """Append events (notices, mostly) to the log; ids strictly increase in commit order.
        Publish the result on the `EventBus` after commit."""

    async def settle_effects(self, settlements: Sequence[Settlement]) -> list[Delivery]:
        """Mark claimed outbox rows done, due again or failed, and release their claims.
        Returns the ledger rows of those that have one, as they stood before (to advance)."""

    async def save_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Write the new state of these ledger rows."""

    async def save_site(self, site: Site) -> None:
        """Create or replace the site's schools. Raises ValidationFailed if one of its room
        ids already belongs to another school."""

    async def get_school(self, school_id: str) -> School | None:
        """The school as it stands, or None."""

    async def sole_district(self) -> str | None:
        """The id of the only district, None when there are none or several."""

    async def save_school(self, school: School) -> None:
        """Create or replace one school (its district row too) and its rooms; its contacts
        and the agencies covering it are left as they are. Raises ValidationFailed if one of
        its room ids already belongs to another school."""

    async def claim_relay(self, name: str) -> int | None:
        """Take the relay position `name` for this transaction: the id of the last event
        relayed; None when another instance is relaying right now (skip this round)."""

    async def advance_relay(self, name: str, position: int) -> None:
        """Record that every event up to `position` has been relayed."""

    async def queue_effects(
        self, effects: Sequence[Effect], *, school_id: str, now: datetime
    ) -> None:
        """Queue effects (due `now`) outside a command's `record` (escalation steps)."""

    async def escalation_policy(self, *, school_id: str, kind: AlertKind) -> Policy | None:
        """The school's policy for the kind, or None (then the default applies)."""

    async def save_escalation(self, escalation: Escalation, *, drill: bool) -> None:
        """Create or replace the alert's escalation timer, and release its claim. Drills'
        timers come after real alerts' when both are due."""

    async def escalation_is_current(self, escalation: Escalation) -> bool:
        """Lock the alert's timer; True if it is still active at `escalation`'s step, False
        if another claim (an instance taken for dead, a racing round) fired it meanwhile."""

    async def hasten_escalations(self, alert_ids: Sequence[str], *, now: datetime) -> None:
        """Someone was not reached: bring these alerts' next escalation step forward to
        `now` (if they are still escalating)."""

    async def delivery_by_ref(self, provider_ref: str) -> Delivery | None:
        """The ledger row of the provider's message (a Twilio SID), or None."""

    async def latest_delivery_to(self, address: str) -> Delivery | None:
        """The newest message to `address` about an alert that is still open, or None."""

    async def set_opt_out(self, address: str, *, stopped: bool, now: datetime) -> None:
        """Remember that `address` replied STOP (stopped) or START (not stopped)."""


class Store(Protocol):
    def transaction(self, lane: str = "default") -> AbstractAsyncContextManager[Transaction]:
        """One transaction. Where transactions wait for a single writer (SQLite), waiters
        take turns round-robin by `lane`: one lane's flood does not hold up another lane."""

    async def get_alert(self, alert_id: str) -> Alert | None: ...

    async def list_alerts(self, query: AlertFilter) -> list[Alert]: ...

    async def timeline(self, alert_id: str) -> list[LoggedEvent]: ...

    async def timelines(self, alert_ids: Collection[str]) -> dict[str, list[LoggedEvent]]:
        """`timeline` of several alerts in one read (every id a key, in id order each)."""

    async def read_log(self, query: LogQuery) -> list[LoggedEvent]: ...

    async def last_event_id(self) -> int: ...

    async def schools(self) -> list[SchoolRef]: ...

    async def school(self, school_id: str) -> School | None: ...

    async def deliveries(self, alert_id: str) -> list[Delivery]:
        """The delivery ledger of one alert, oldest first."""

    async def due_effects(self, *, now: datetime, limit: int) -> list[OutboxItem]:
        """Effects not yet done whose time has come, claimed so no other worker runs them.
        Settle each (`Transaction.settle_effects`) once it has run."""

    async def record_provider_ref(
        self, delivery_id: int, *, provider_ref: str, sender: str | None, repeat_possible: bool
    ) -> None:
        """Write the provider's id of a message to its ledger row at once, in a transaction
        of its own: from then on the message is never sent again, whatever happens."""

    async def due_escalations(self, *, now: datetime, limit: int) -> list[Escalation]:
        """Active escalations whose next firing is due, claimed (with a lease) so that no
        other instance fires them. Save each (`Transaction.save_escalation`) once fired."""

    async def release_claims(self) -> int:
        """Make every claimed, unfinished effect (and escalation timer) due again; return
        how many.

        Only for a process that owns the database alone (the embedded default), at start-up:
        the claims can only be its own, left by a previous run that was killed.
        """

    async def ping(self) -> None:
        """Raise if the database does not answer."""


class Subscription(Protocol):
    """One consumer's bounded queue of live events."""

    async def get(self, timeout: float) -> LoggedEvent | None:
        """The next event, None after `timeout` seconds idle; raises SlowConsumer on overflow."""

    def ready(self) -> list[LoggedEvent]:
        """The events queued already, in order, without waiting; raises SlowConsumer on
        overflow."""

    def take_directly(self, sink: Callable[[LoggedEvent], bool]) -> None:
        """From now on, offer each event to `sink` first while the consumer waits in `get`
        with nothing queued: an event `sink` takes (True) is neither queued nor wakes it.
        `sink` runs in the publisher's call and must not block; one that raises counts as
        refusing (the event is queued, and the consumer meets the fault itself)."""

    def close(self) -> None: ...


class EventBus(Protocol):
    """Fan-out of committed events to every subscriber on every instance."""

    async def publish(self, events: Sequence[LoggedEvent]) -> None: ...

    def subscribe(self, *, max_queue: int) -> Subscription: ...


class SmsGateway(Protocol):
    async def send_sms(self, *, to: str, body: str, alert_id: str, drill: bool) -> Receipt:
        """Send one text. Raises DeliveryError; its `temporary` says whether to retry."""


class VoiceGateway(Protocol):
    async def place_call(self, *, to: str, script: str, alert_id: str, drill: bool) -> Receipt:
        """Place one call that says `script` and asks for a key press. Raises DeliveryError."""


class Clock(Protocol):
    def now(self) -> datetime: ...


class LogSink(Protocol):
    """Where the event relay copies committed events (the Redis stream)."""

    async def top(self) -> int:
        """The id of the newest event the sink holds (0: none)."""

    async def append(self, events: Sequence[LoggedEvent]) -> None:
        """Add events newer than `top`, in id order; older ones are skipped."""


class Unavailable(Exception):
    """A dependency (the database, Redis) does not answer. Temporary: retry later; raising
    an alert is safe to retry with the same Idempotency-Key."""

    def __init__(self, dependency: str) -> None:
        super().__init__(f"{dependency} is unavailable")
        self.dependency = dependency


class SlowConsumer(Exception):
    """A subscriber fell more than its queue behind; it must resume from the log."""


class DeliveryError(Exception):
    """A message was not taken. `temporary`: try again later. `code`: the provider's error
    code. `outcome_unknown`: the request may have reached the provider (a timeout after it
    was sent), so a retry may repeat it."""

    def __init__(
        self,
        message: str,
        *,
        temporary: bool,
        code: int | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.code = code
        self.outcome_unknown = outcome_unknown
