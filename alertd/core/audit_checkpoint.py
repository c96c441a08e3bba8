"""Signed checkpoints of the audit chain's head, kept outside the database. Pure.

The hash chain (`alertd.core.audit`) catches a changed row only as long as the rows after it
were not all rewritten too: someone able to write the database could rewrite the whole tail
consistently, head included. A checkpoint closes that gap: every few minutes alertd signs
(HMAC-SHA256, under a key the database does not hold) the id and hash of the last entry, and
keeps the signed document somewhere else (a file, a webhook). Verifying then also checks that
the chain still holds, at every checkpointed id, the hash that was signed there: a rewritten
tail no longer matches the checkpoints taken before the rewrite.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alertd.core.audit import VerifyResult, utc_iso

FORMAT = "alertd-audit-checkpoint-v1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    head_id: int
    head_hash: str
    at: str  # canonical UTC ISO (core.audit.utc_iso)
    signature: str

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "at": self.at,
            "signature": self.signature,
        }


def _signed_text(head_id: int, head_hash: str, at: str) -> bytes:
    return f"{FORMAT}\n{head_id}\n{head_hash}\n{at}".encode()


def sign_checkpoint(key: bytes, *, head_id: int, head_hash: str, at: datetime) -> Checkpoint:
    moment = utc_iso(at)
    digest = hmac.new(key, _signed_text(head_id, head_hash, moment), hashlib.sha256)
    return Checkpoint(head_id, head_hash, moment, digest.hexdigest())


def read_checkpoint(key: bytes, document: Mapping[str, Any]) -> Checkpoint | None:
    """The checkpoint, if `document` is one and its signature holds under `key`; else None."""
    try:
        checkpoint = Checkpoint(
            head_id=int(document["head_id"]),
            head_hash=str(document["head_hash"]),
            at=str(document["at"]),
            signature=str(document["signature"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    if document.get("format") != FORMAT:
        return None
    expected = sign_checkpoint(
        key, head_id=checkpoint.head_id, head_hash=checkpoint.head_hash, at=_parse(checkpoint.at)
    )
    if not hmac.compare_digest(expected.signature, checkpoint.signature):
        return None
    return checkpoint


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_checkpoints(
    chain: VerifyResult,
    checkpoints: Iterable[Checkpoint],
    *,
    stored_hashes: Mapping[int, str],
    head_id: int,
) -> VerifyResult:
    """The verdict on a chain that verified as `chain`, given the signed checkpoints and the
    hashes the database holds at their ids. The chain must reach every checkpoint and hold
    the signed hash there; the first checkpoint that does not is named."""
    if not chain.ok:
        return chain
    for checkpoint in sorted(checkpoints, key=lambda c: c.head_id):
        if checkpoint.head_id == 0:
            continue
        if checkpoint.head_id > head_id:
            return VerifyResult(
                False,
                chain.count,
                head_id + 1,
                f"the chain ends at entry {head_id} but a checkpoint of {checkpoint.at} "
                f"signed entry {checkpoint.head_id}: entries were removed from the end",
            )
        if stored_hashes.get(checkpoint.head_id) != checkpoint.head_hash:
            return VerifyResult(
                False,
                chain.count,
                checkpoint.head_id,
                f"its hash differs from the one signed at {checkpoint.at}: the chain was "
                "rewritten from this entry or earlier",
            )
    return chain
