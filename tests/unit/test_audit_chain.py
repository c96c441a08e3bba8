"""The audit hash chain: any change to a stored entry is found, and named."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from alertd.core.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditRecord,
    ChainVerifier,
    chain,
    entry_hash,
    normalize_detail,
    verify,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _entries(n: int = 5) -> list[AuditEntry]:
    return [
        AuditEntry(
            at=T0 + timedelta(seconds=i),
            actor_id=f"user-{i}",
            actor_role="school_admin",
            action="alert.acknowledge",
            school_id="lincoln-hs",
            subject=f"alert-{i}",
            detail={"note": "é", "n": i},
        )
        for i in range(n)
    ]


def test_an_untouched_chain_verifies() -> None:
    records = chain(_entries())
    assert [r.id for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    assert verify(records, head_id=5, head_hash=records[-1].hash).ok
    assert verify(records).count == 5
    assert verify([]).ok


def test_the_hash_covers_every_field_the_id_and_the_previous_hash() -> None:
    entry = _entries(1)[0]
    base = entry_hash(GENESIS_HASH, 1, entry)
    changed = [
        replace(entry, at=entry.at + timedelta(microseconds=1)),
        replace(entry, actor_id="someone-else"),
        replace(entry, actor_role="district_admin"),
        replace(entry, action="alert.cancel"),
        replace(entry, school_id=None),
        replace(entry, subject=None),
        replace(entry, detail={"note": "é", "n": 1}),
    ]
    assert all(entry_hash(GENESIS_HASH, 1, c) != base for c in changed)
    assert entry_hash(GENESIS_HASH, 2, entry) != base
    assert entry_hash("1" * 64, 1, entry) != base


def test_the_same_moment_in_another_zone_hashes_the_same() -> None:
    entry = _entries(1)[0]
    elsewhere = replace(entry, at=entry.at.astimezone(timezone(timedelta(hours=-5))))
    naive_utc = replace(entry, at=entry.at.replace(tzinfo=None))
    assert entry_hash(GENESIS_HASH, 1, elsewhere) == entry_hash(GENESIS_HASH, 1, entry)
    assert entry_hash(GENESIS_HASH, 1, naive_utc) == entry_hash(GENESIS_HASH, 1, entry)


def test_a_changed_field_is_found_at_its_row() -> None:
    records = chain(_entries())
    records[2] = replace(records[2], entry=replace(records[2].entry, detail={"n": 99}))
    result = verify(records)
    assert not result.ok
    assert result.bad_id == 3
    assert result.reason is not None and "changed" in result.reason


def test_a_removed_row_is_found() -> None:
    records = chain(_entries())
    del records[1]
    result = verify(records)
    assert (result.ok, result.bad_id) == (False, 3)
    assert result.reason is not None and "removed" in result.reason


def test_rows_removed_from_the_end_are_found_through_the_head() -> None:
    records = chain(_entries())
    result = verify(records[:3], head_id=5, head_hash=records[-1].hash)
    assert (result.ok, result.bad_id) == (False, 4)


def test_reordered_rows_are_found() -> None:
    records = chain(_entries())
    records[1], records[2] = records[2], records[1]
    result = verify(records)
    assert (result.ok, result.bad_id) == (False, 3)


def test_renumbered_rows_are_found() -> None:
    records = chain(_entries())
    # Swap the contents of rows 2 and 3 but keep the ids in order.
    second, third = records[1], records[2]
    records[1] = replace(third, id=2)
    records[2] = replace(second, id=3)
    assert verify(records).bad_id == 2


def test_a_forged_row_with_its_own_hash_recomputed_is_found_at_the_next_row() -> None:
    records = chain(_entries())
    forged_entry = replace(records[2].entry, actor_id="innocent-bystander")
    forged_hash = entry_hash(records[2].prev_hash, 3, forged_entry)
    records[2] = AuditRecord(3, forged_entry, records[2].prev_hash, forged_hash)
    result = verify(records)
    assert (result.ok, result.bad_id) == (False, 4)
    assert result.reason is not None and "entry 3" in result.reason


def test_a_forged_last_row_is_found_through_the_head() -> None:
    records = chain(_entries())
    head_hash = records[-1].hash
    last = records[-1]
    forged_entry = replace(last.entry, action="alert.resolve")
    records[-1] = AuditRecord(
        5, forged_entry, last.prev_hash, entry_hash(last.prev_hash, 5, forged_entry)
    )
    result = verify(records, head_id=5, head_hash=head_hash)
    assert (result.ok, result.bad_id) == (False, 5)


def test_a_chain_checked_in_pages_agrees_with_one_pass() -> None:
    records = chain(_entries(10))
    records[7] = replace(records[7], prev_hash=GENESIS_HASH)
    verifier = ChainVerifier()
    failure = None
    for start in range(0, 10, 3):
        failure = verifier.feed(records[start : start + 3])
        if failure is not None:
            break
    assert failure == verify(records)
    assert failure is not None and failure.bad_id == 8


def test_chaining_continues_from_a_head() -> None:
    first = chain(_entries(3))
    more = chain(_entries(2), last_id=3, last_hash=first[-1].hash)
    assert [r.id for r in more] == [4, 5]
    assert verify(first + more).ok


def test_detail_is_normalized_to_what_json_reads_back() -> None:
    detail = normalize_detail({"when": T0, "ids": ("a", "b"), "roles": {"sro"}})
    assert detail == {"when": "2026-11-23T08:00:00.000000Z", "ids": ["a", "b"], "roles": ["sro"]}
    entry = _entries(1)[0]
    assert entry_hash(GENESIS_HASH, 1, replace(entry, detail={"when": T0})) == entry_hash(
        GENESIS_HASH, 1, replace(entry, detail=normalize_detail({"when": T0}))
    )
    with pytest.raises(TypeError):
        normalize_detail({"thing": object()})
