"""Use cases on the audit trail: read it (admins, audited), check it, checkpoint its head.

Reading: district admins read every entry; school admins the entries of their schools. Each
read appends an "audit.export" entry in the same transaction that reads the page. The page
ends before that entry, and when the page reaches it, `next_after` skips it, so a client
that pages until `entries` is empty does terminate.

Checking: the hash chain is recomputed, then compared with the signed checkpoints kept
outside the database (`alertd.core.audit_checkpoint`), so that a tail rewritten
consistently, head included, is caught too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from alertd.app.account_ports import AccountStore, CheckpointSink
from alertd.app.ports import Clock
from alertd.app.service import require
from alertd.core.audit import AuditEntry, AuditRecord, VerifyResult
from alertd.core.audit_checkpoint import (
    Checkpoint,
    check_checkpoints,
    read_checkpoint,
    sign_checkpoint,
)
from alertd.core.permission import Action, Principal, authorize


class CheckpointLog(CheckpointSink, Protocol):
    """A sink that can also give back what it kept (a file)."""

    def documents(self) -> list[Mapping[str, Any]]:
        """Every checkpoint document kept, oldest first (unreadable lines as empty dicts)."""


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditRecord]
    next_after: int


@dataclass(frozen=True, slots=True)
class Verification:
    """The chain's verdict, how many signed checkpoints it was held against, the last one."""

    result: VerifyResult
    head_id: int
    checkpoints: int
    last_checkpoint: Checkpoint | None


class AuditService:
    def __init__(
        self,
        *,
        store: AccountStore,
        clock: Clock,
        checkpoint_key: bytes,
        checkpoint_log: CheckpointLog | None,
        checkpoint_sinks: Sequence[CheckpointSink] = (),
    ) -> None:
        self._store = store
        self._clock = clock
        self._key = checkpoint_key
        self._log = checkpoint_log
        self._sinks = checkpoint_sinks
        self._last_kept: int | None = None

    def __repr__(self) -> str:  # the checkpoint key never shows
        return "AuditService()"

    async def read(
        self, *, principal: Principal, after: int, limit: int, school_id: str | None
    ) -> AuditPage:
        verdict = authorize(principal, Action.VIEW_AUDIT, school_id=school_id)
        require(verdict, what="school", ident=school_id or "", action=Action.VIEW_AUDIT)
        schools = {school_id} if school_id is not None else principal.school_ids
        export = AuditEntry.by(
            principal,
            "audit.export",
            at=self._clock.now(),
            school_id=school_id,
            detail={"after": after, "limit": limit, "school": school_id},
        )
        async with self._store.transaction() as tx:
            # Append first: holding the audit head, every earlier entry is committed.
            (recorded,) = await tx.audit([export])
            read = await tx.audit_page(after=after, limit=limit + 1, school_ids=schools)
        earlier = [r for r in read if r.id < recorded.id]
        page = earlier[:limit]
        at_end = len(earlier) <= limit
        return AuditPage(page, recorded.id if at_end else page[-1].id)

    async def verify(self, *, principal: Principal, audited: bool = True) -> Verification:
        """Check the chain and the checkpoints. `audited` False (the operator's command line,
        which must not write while it checks) appends no "audit.verify" entry."""
        verdict = authorize(principal, Action.VERIFY_AUDIT)
        require(verdict, what="audit", ident="", action=Action.VERIFY_AUDIT)
        head_id, _head_hash = await self._store.audit_head()
        chain = await self._store.verify_audit()
        documents = self._log.documents() if self._log is not None else []
        checkpoints: list[Checkpoint] = []
        result = chain
        for line, document in enumerate(documents, start=1):
            checkpoint = read_checkpoint(self._key, document)
            if checkpoint is None:
                result = VerifyResult(
                    False,
                    chain.count,
                    None,
                    f"checkpoint {line} is not signed with this server's checkpoint key",
                )
                break
            checkpoints.append(checkpoint)
        if result.ok:
            stored = await self._store.audit_hashes([c.head_id for c in checkpoints])
            result = check_checkpoints(
                chain, checkpoints, stored_hashes=stored, head_id=chain.count
            )
        if audited:
            entry = AuditEntry.by(
                principal,
                "audit.verify",
                at=self._clock.now(),
                detail={"ok": result.ok, "bad_id": result.bad_id, "head_id": head_id},
            )
            async with self._store.transaction() as tx:
                await tx.audit([entry])
        last = max(checkpoints, key=lambda c: c.head_id) if checkpoints else None
        return Verification(result, head_id, len(checkpoints), last)

    async def checkpoint(self) -> Checkpoint | None:
        """Sign the chain's head and hand it to every sink; None when the head has not moved
        since the last checkpoint this process kept. A failing sink raises after the others
        were tried (the next round tries again)."""
        head_id, head_hash = await self._store.audit_head()
        if head_id == self._last_kept:
            return None
        checkpoint = sign_checkpoint(
            self._key, head_id=head_id, head_hash=head_hash, at=self._clock.now()
        )
        failures: list[Exception] = []
        for sink in self._sinks:
            try:
                await sink.keep(checkpoint.document())
            except Exception as error:
                failures.append(error)
        if failures:
            raise failures[0]
        self._last_kept = head_id
        return checkpoint
