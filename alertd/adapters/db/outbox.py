"""The outbox and the delivery ledger, as synchronous steps of a `Connection`.

An effect is queued in the transaction of the command that caused it (`queue_effects`),
claimed by one instance's relay (`claim_due`, see `claim`: a claim names its instance and is
taken over within seconds once that instance stops heartbeating), and settled once it has run
(`settle_effects`): done, due again, or failed. Effects that reach a person (texts) have a
row of the delivery ledger, opened as `queued` and moved on by the relay and, later, by the
provider's reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from alertd.adapters import codec
from alertd.adapters.db import schema as t
from alertd.adapters.db.claim import Instance, claim_rows, claim_statement, release_rows
from alertd.app.ports import OutboxItem, Outcome, Settlement
from alertd.core.delivery import Channel, Delivery, DeliveryState
from alertd.core.effect import Effect, PlaceCall, SendPush, SendSms

# A claim lapses after this even if its instance still heartbeats (its relay is stuck). An
# instance that died loses its claims sooner: see `claim`. (The embedded default also releases
# its own claims at start-up; see Store.release_claims.)
LEASE = timedelta(seconds=30)
ERROR_MAX_LENGTH = 500

_INSERT_OUTBOX = sa.insert(t.outbox)
_INSERT_DELIVERY = sa.insert(t.deliveries).returning(
    t.deliveries.c.id, sort_by_parameter_order=True
)
_OUTBOX_ROW = t.outbox.c.id == sa.bindparam("item_id")
_SETTLE = {
    Outcome.DONE: sa.update(t.outbox)
    .where(_OUTBOX_ROW)
    .values(
        state="done",
        done_at=sa.bindparam("now"),
        lease_until=None,
        claimed_by=None,
        attempts=t.outbox.c.attempts + 1,
    ),
    Outcome.RETRY: sa.update(t.outbox)
    .where(_OUTBOX_ROW)
    .values(
        due_at=sa.bindparam("now"),
        lease_until=None,
        claimed_by=None,
        last_error=sa.bindparam("error"),
        attempts=t.outbox.c.attempts + 1,
    ),
    Outcome.FAILED: sa.update(t.outbox)
    .where(_OUTBOX_ROW)
    .values(
        state="failed",
        done_at=sa.bindparam("now"),
        lease_until=None,
        claimed_by=None,
        last_error=sa.bindparam("error"),
        attempts=t.outbox.c.attempts + 1,
    ),
}
_SAVE_DELIVERY = (
    sa.update(t.deliveries)
    .where(t.deliveries.c.id == sa.bindparam("delivery_id"))
    .values(
        state=sa.bindparam("state"),
        attempts=sa.bindparam("attempts"),
        error=sa.bindparam("error"),
        provider_ref=sa.bindparam("provider_ref"),
        updated_at=sa.bindparam("updated_at"),
        error_code=sa.bindparam("error_code"),
        repeat_possible=sa.bindparam("repeat_possible"),
        sender=sa.bindparam("sender"),
    )
)
_CHANNELS = {SendSms: Channel.SMS, PlaceCall: Channel.VOICE, SendPush: Channel.PUSH}


def queue_effects(
    conn: Connection, effects: Sequence[Effect], *, school_id: str, now: datetime
) -> None:
    """One outbox row per effect, due `now`, and a ledger row (queued) for each text, call
    and push. Drills get priority 1, real alerts 0: real ones are claimed first."""
    texts = [e for e in effects if isinstance(e, SendSms | PlaceCall | SendPush)]
    delivery_ids: dict[int, int] = {}
    if texts:
        rows = [_delivery_columns(e, school_id=school_id, now=now) for e in texts]
        ids = conn.execute(_INSERT_DELIVERY, rows).scalars().all()
        delivery_ids = {id(e): d for e, d in zip(texts, ids, strict=True)}
    outbox_rows = []
    for effect in effects:
        name, body = codec.effect_to_row(effect)
        outbox_rows.append(
            {
                "alert_id": effect.alert_id,
                "effect": name,
                "body": body,
                "state": "pending",
                "attempts": 0,
                "due_at": codec.utc(now),
                "delivery_id": delivery_ids.get(id(effect)),
                "priority": 1 if effect.drill else 0,
            }
        )
    conn.execute(_INSERT_OUTBOX, outbox_rows)


_CLAIM_DUE = claim_statement(
    t.outbox,
    due=sa.and_(t.outbox.c.state == "pending", t.outbox.c.due_at <= sa.bindparam("now")),
    returning=(
        t.outbox.c.id,
        t.outbox.c.effect,
        t.outbox.c.body,
        t.outbox.c.attempts,
        t.outbox.c.claims,
        t.outbox.c.delivery_id,
        t.outbox.c.priority,
    ),
    order_by=(t.outbox.c.priority, t.outbox.c.id),  # real alerts' effects before drills'
    also_set={"claims": t.outbox.c.claims + 1},
)


def claim_due(
    conn: Connection, now: datetime, limit: int, *, instance: Instance
) -> list[OutboxItem]:
    """Claim up to `limit` due effects for `instance` (see `claim`), real alerts' before
    drills', oldest first.

    Each item says whether its message already has a provider id on record (never send it
    again), whether an earlier claim of it was never settled (a claimer died: a repeat is
    possible), and whether its number replied STOP."""
    rows = claim_rows(conn, _CLAIM_DUE, instance=instance, now=now, lease=LEASE, limit=limit)
    ledger = _ledger_of(conn, [r.delivery_id for r in rows if r.delivery_id is not None])
    items = []
    for r in sorted(rows, key=lambda r: (r.priority, r.id)):
        provider_ref, opted_out = ledger.get(r.delivery_id, (None, False))
        effect = codec.effect_from_row(r.effect, r.body)
        items.append(
            OutboxItem(
                r.id,
                effect,
                r.attempts,
                r.delivery_id,
                provider_ref=provider_ref,
                resumed=r.claims - 1 > r.attempts,  # claimed before, never settled
                opted_out=opted_out and isinstance(effect, SendSms),
            )
        )
    return items


def _ledger_statement() -> sa.Select[Any]:
    # Built once: building it per claim (and its cache key) was a tenth of the claim.
    d, o = t.deliveries.c, t.opt_outs.c
    return (
        sa.select(d.id, d.provider_ref, o.address.is_not(None).label("opted_out"))
        .select_from(t.deliveries.outerjoin(t.opt_outs, o.address == d.address))
        .where(d.id.in_(sa.bindparam("ids", expanding=True)))
    )


_LEDGER_OF = _ledger_statement()


def _ledger_of(conn: Connection, delivery_ids: list[int]) -> dict[int, tuple[str | None, bool]]:
    """Per ledger row: its provider id (if recorded) and whether its number opted out."""
    if not delivery_ids:
        return {}
    rows = conn.execute(_LEDGER_OF, {"ids": delivery_ids})
    return {r.id: (r.provider_ref, bool(r.opted_out)) for r in rows}


def release_claims(conn: Connection) -> int:
    """Make every claimed, unfinished effect due again; how many. (Their `claims` count
    stays: whoever claims them next knows an attempt may have gone out.)"""
    release = (
        sa.update(t.outbox)
        .where(t.outbox.c.state == "pending", t.outbox.c.lease_until.is_not(None))
        .values(lease_until=None, claimed_by=None)
    )
    return int(conn.execute(release).rowcount)


def release_own_claims(conn: Connection, instance: Instance) -> int:
    """Give back the unfinished effects `instance` claimed (a clean shutdown); how many."""
    return release_rows(conn, t.outbox, unfinished=t.outbox.c.state == "pending", instance=instance)


def settle_effects(conn: Connection, settlements: Sequence[Settlement]) -> list[Delivery]:
    """Record what became of claimed effects; their ledger rows as they stood before."""
    by_outcome: dict[Outcome, list[dict[str, Any]]] = {}
    for settlement in settlements:
        values: dict[str, Any] = {"item_id": settlement.item.id, "now": codec.utc(settlement.at)}
        if settlement.outcome is not Outcome.DONE:
            values["error"] = (settlement.error or "")[:ERROR_MAX_LENGTH]
        by_outcome.setdefault(settlement.outcome, []).append(values)
    for outcome, batch in by_outcome.items():
        conn.execute(_SETTLE[outcome], batch)  # one round trip per outcome, not per effect
    ids = [s.item.delivery_id for s in settlements if s.item.delivery_id is not None]
    if not ids:
        return []
    rows = conn.execute(sa.select(t.deliveries).where(t.deliveries.c.id.in_(ids)))
    return [delivery_from_row(row) for row in rows]


def save_deliveries(conn: Connection, deliveries: Sequence[Delivery]) -> None:
    if not deliveries:
        return
    rows = [
        {
            "delivery_id": d.id,
            "state": d.state.value,
            "attempts": d.attempts,
            "error": d.error,
            "provider_ref": d.provider_ref,
            "updated_at": codec.utc(d.updated_at),
            "error_code": d.error_code,
            "repeat_possible": d.repeat_possible,
            "sender": d.sender,
        }
        for d in deliveries
    ]
    conn.execute(_SAVE_DELIVERY, rows)


def deliveries_of(conn: Connection, alert_id: str) -> list[Delivery]:
    c = t.deliveries.c
    rows = conn.execute(sa.select(t.deliveries).where(c.alert_id == alert_id).order_by(c.id))
    return [delivery_from_row(row) for row in rows]


def _delivery_columns(
    effect: SendSms | PlaceCall | SendPush, *, school_id: str, now: datetime
) -> dict[str, Any]:
    # A push is addressed to a browser: the ledger names the device, not the push URL.
    address = effect.device_id[:64] if isinstance(effect, SendPush) else effect.to
    return {
        "alert_id": effect.alert_id,
        "school_id": school_id,
        "recipient_id": effect.recipient_id,
        "recipient_name": effect.recipient_name,
        "recipient_kind": effect.recipient_kind,
        "channel": _CHANNELS[type(effect)].value,
        "address": address,
        "about": effect.about,
        "drill": effect.drill,
        "state": DeliveryState.QUEUED.value,
        "attempts": 0,
        "created_at": codec.utc(now),
        "updated_at": codec.utc(now),
    }


def delivery_from_row(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        alert_id=row.alert_id,
        school_id=row.school_id,
        recipient_id=row.recipient_id,
        recipient_name=row.recipient_name,
        recipient_kind=row.recipient_kind,
        channel=Channel(row.channel),
        address=row.address,
        about=row.about,
        drill=row.drill,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        error=row.error,
        created_at=codec.utc(row.created_at),
        updated_at=codec.utc(row.updated_at),
        provider_ref=row.provider_ref,
        error_code=row.error_code,
        repeat_possible=bool(row.repeat_possible),
        sender=row.sender,
    )
