"""Audit entries and their hash chain. Pure: the hash is a function of the previous hash
and the entry, so that changing, removing or reordering any row breaks every later hash.

The chain: entry ids run 1, 2, 3 ... without gaps. Entry `n` stores `prev_hash` (the hash
of entry `n - 1`, or `GENESIS_HASH` for entry 1) and `hash = entry_hash(prev_hash, n,
entry)`. The chain has no secret key: it detects a change to stored rows as long as the
attacker did not also rewrite every later row (and the head). Anchor the head elsewhere
(for example, print it in the nightly report) to close that gap.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from alertd.core.permission import Principal

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One thing that happened: a login (or a failed one), an alert transition, a camera view,
    a change to settings, users or devices, an export.

    `action` is dotted: "auth.login", "auth.login_failed", "alert.acknowledge",
    "device.create", "user.create", "site.load", "audit.export" ...
    """

    at: datetime
    actor_id: str
    actor_role: str
    action: str
    school_id: str | None = None
    subject: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def by(
        cls,
        principal: Principal,
        action: str,
        *,
        at: datetime,
        school_id: str | None = None,
        subject: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """What `principal` did, as an entry (its actor's id and role filed with it: the
        operator's actor files as "operator", not as the role it acts with)."""
        return cls(
            at=at,
            actor_id=principal.actor.id,
            actor_role=principal.actor.role,
            action=action,
            school_id=school_id,
            subject=subject,
            detail=detail or {},
        )

    @classmethod
    def about(
        cls,
        principal: Principal,
        action: str,
        *,
        at: datetime,
        school_ids: Sequence[str],
        subject: str,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """What `principal` did to something of these schools (a person, a device), filed
        under the first of them, so that the admins of that school read it."""
        school_id = school_ids[0] if school_ids else None
        return cls.by(principal, action, at=at, school_id=school_id, subject=subject, detail=detail)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An entry as stored: its place in the chain and the hashes that bind it there."""

    id: int
    entry: AuditEntry
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of checking a chain.

    `ok` with `count` entries checked; otherwise `bad_id` is the first entry at which the
    chain does not hold and `reason` says why. The tampered row is `bad_id` itself, or (when
    the reason names the previous entry) the one before it.
    """

    ok: bool
    count: int
    bad_id: int | None = None
    reason: str | None = None


def utc_iso(moment: datetime) -> str:
    """The canonical form of a moment: UTC, microseconds, `Z`. A naive moment is UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"audit detail cannot hold {type(value).__name__}")


def _dumps(value: object) -> str:
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def normalize_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """`detail` as plain JSON data, exactly as it will read back from the database.

    Moments become UTC ISO strings, sets sorted lists, tuples lists. Anything else that is
    not JSON (or NaN) raises TypeError/ValueError: a programming error, not worth a retry.
    Store the normalized form so that the stored row rehashes to the stored hash. Floats
    beyond what PostgreSQL's jsonb keeps verbatim (like 1e20) may read back as ints: put
    numbers that must survive exactly into strings.
    """
    normalized: dict[str, Any] = json.loads(_dumps(dict(detail)))
    return normalized


def entry_document(prev_hash: str, entry_id: int, entry: AuditEntry) -> dict[str, Any]:
    """The entry as the chain hashes it (and as the API shows it, with its own hash added)."""
    return {
        "id": entry_id,
        "prev_hash": prev_hash,
        "at": utc_iso(entry.at),
        "actor_id": entry.actor_id,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "school_id": entry.school_id,
        "subject": entry.subject,
        "detail": dict(entry.detail),
    }


def entry_hash(prev_hash: str, entry_id: int, entry: AuditEntry) -> str:
    """sha256 (hex) of the canonical JSON of `entry`, its id and the previous entry's hash.

    Canonical: sorted keys, no whitespace, UTF-8, moments as UTC ISO with microseconds.
    """
    document = entry_document(prev_hash, entry_id, entry)
    return hashlib.sha256(_dumps(document).encode("utf-8")).hexdigest()


def chain(
    entries: Iterable[AuditEntry], *, last_id: int = 0, last_hash: str = GENESIS_HASH
) -> list[AuditRecord]:
    """Link `entries` after the entry (`last_id`, `last_hash`): ids last_id + 1, + 2 ..."""
    records = []
    prev = last_hash
    for offset, entry in enumerate(entries, start=1):
        entry_id = last_id + offset
        digest = entry_hash(prev, entry_id, entry)
        records.append(AuditRecord(entry_id, entry, prev, digest))
        prev = digest
    return records


class ChainVerifier:
    """Checks a chain fed in id order, a page at a time, without holding it in memory.

    Call `feed` with successive pages until it returns a failed result or the rows run
    out, then `finish` (optionally with the head the database says the chain ends at).
    """

    def __init__(self) -> None:
        self._expected_id = 1
        self._prev_hash = GENESIS_HASH
        self._count = 0
        self._failure: VerifyResult | None = None

    def feed(self, records: Iterable[AuditRecord]) -> VerifyResult | None:
        """Check the next records; the first failure (sticky), or None while all is well."""
        if self._failure is not None:
            return self._failure
        for record in records:
            reason = self._check(record)
            if reason is not None:
                self._failure = VerifyResult(False, self._count, record.id, reason)
                return self._failure
            self._expected_id += 1
            self._prev_hash = record.hash
            self._count += 1
        return None

    def _check(self, record: AuditRecord) -> str | None:
        previous = self._expected_id - 1
        if record.id != self._expected_id:
            return (
                f"expected entry {self._expected_id} next but found entry {record.id}: "
                "entries were removed or reordered"
            )
        if record.prev_hash != self._prev_hash:
            what = f"entry {previous}'s hash" if previous else "the genesis hash"
            return (
                f"its prev_hash does not match {what}: "
                f"entry {previous or record.id} was changed, forged or replaced"
            )
        if entry_hash(record.prev_hash, record.id, record.entry) != record.hash:
            return "its hash does not match its contents: the entry was changed"
        return None

    def finish(self, *, head_id: int | None = None, head_hash: str | None = None) -> VerifyResult:
        """The verdict. With the head given, a chain cut short at the end is caught too."""
        if self._failure is not None:
            return self._failure
        last_id = self._expected_id - 1
        if head_id is not None and head_id != last_id:
            return VerifyResult(
                False,
                self._count,
                last_id + 1,
                f"the chain ends at entry {last_id} but its head says {head_id}: "
                "entries were removed from the end",
            )
        if head_hash is not None and head_hash != self._prev_hash:
            return VerifyResult(
                False,
                self._count,
                last_id,
                "the last entry's hash does not match the head: the last entry was replaced",
            )
        return VerifyResult(True, self._count)


def verify(
    records: Iterable[AuditRecord], *, head_id: int | None = None, head_hash: str | None = None
) -> VerifyResult:
    """Check a whole chain given in id order. See `ChainVerifier` for pages."""
    verifier = ChainVerifier()
    verifier.feed(records)
    return verifier.finish(head_id=head_id, head_hash=head_hash)
