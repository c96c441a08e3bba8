"""Ports of the camera use cases (`alertd.app.cameras`): the source registry, view tokens,
and the video relay. Adapters: `adapters/db/cameras.py`, `adapters/auth/view_tokens.py`,
`adapters/video/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from alertd.core.audit import AuditEntry
from alertd.core.camera import CameraSource, SourceKind, ViewGrant


@dataclass(frozen=True, slots=True)
class StoredSource:
    """A source as the registry keeps it: its credentials sealed (`SecretBox`), or None."""

    camera_id: str
    school_id: str
    kind: SourceKind
    url: str
    sealed_credentials: str | None
    updated_at: datetime


class CameraSourceStore(Protocol):
    """The registry of camera sources. Each write is one transaction with its audit."""

    async def source(self, camera_id: str) -> StoredSource | None: ...

    async def sources(self, school_id: str) -> list[StoredSource]: ...

    async def save_source(self, source: StoredSource, *, audit: Sequence[AuditEntry]) -> None:
        """Create or replace the camera's source and append `audit`, together."""

    async def delete_source(self, camera_id: str, *, audit: Sequence[AuditEntry]) -> bool:
        """Remove the camera's source (False: it had none; then nothing is audited)."""


class ViewTokens(Protocol):
    def issue(self, grant: ViewGrant, *, now: datetime) -> str:
        """A signed token that carries `grant`."""

    def read(self, token: str) -> ViewGrant:
        """The grant a token carries. Raises Unauthenticated (bad signature, malformed, not
        a view token). Its freshness is for `core.camera.check_grant` to judge."""


@dataclass(frozen=True, slots=True)
class ViewSession:
    """One viewer's WebRTC session. `answer_sdp` answers the viewer's offer."""

    session_id: str
    camera_id: str
    answer_sdp: str
    passthrough: bool  # the viewer gets the source's own H.264, not a re-encoding


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source went offline (failed, ended or stalled while watched) or came back."""

    camera_id: str
    school_id: str
    online: bool
    reason: str | None = None


HealthListener = Callable[[SourceHealth], Awaitable[None]]


class BadOffer(Exception):
    """The viewer's SDP offer cannot be answered (malformed, or no video to receive)."""


class VideoRelay(Protocol):
    """Relays each camera's source to its viewers: one source connection per camera,
    opened on the first viewer and closed a little after the last one leaves.

    Failures of a source never raise into callers: they are reported to the health
    listener, and the relay retries with backoff while viewers remain.
    """

    def listen(self, listener: HealthListener) -> None:
        """Report source health to `listener` (set once, before the first view)."""

    async def open_session(self, source: CameraSource, *, offer_sdp: str) -> ViewSession:
        """Answer a viewer's offer. Raises BadOffer (nothing is left open)."""

    async def close_session(self, session_id: str) -> ViewSession | None:
        """End a session; None when there is no such session (already ended)."""

    def session(self, session_id: str) -> ViewSession | None: ...

    async def add_candidate(self, session_id: str, candidate: str, *, mid: str | None) -> None:
        """Add a trickled remote ICE candidate (an `a=candidate:` line's value)."""

    def viewers(self, camera_id: str) -> int: ...

    def online(self, camera_id: str) -> bool | None:
        """Whether the camera's source is delivering right now; None when it is not open."""

    async def close(self) -> None:
        """End every session and close every source (at shutdown)."""
