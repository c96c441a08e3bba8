"""Camera use cases: the source registry, view tokens, WHEP sessions, source health.

Who may watch is the permission table's (`Action.VIEW_CAMERA`: a school's SROs and its
dispatchers). Watching takes two steps, so that a WHEP player needs no session cookie:

1. `issue_view_token`: a signed-in person asks for a short-lived token for one camera;
   `authorize` decides against the camera's school.
2. `start_view`: a WHEP offer arrives with that token; the token is checked (pure,
   `core.camera.check_grant`) and the role checked again, the relay answers, and the view
   is written to the audit trail. If the audit cannot be written, the session is closed.

Source credentials are sealed with the `SecretBox` when saved and opened only to hand the
source to the relay; no method returns them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alertd.app.account_ports import SecretBox
from alertd.app.camera_ports import (
    BadOffer,
    CameraSourceStore,
    SourceHealth,
    StoredSource,
    VideoRelay,
    ViewSession,
    ViewTokens,
)
from alertd.app.ports import Clock, EventBus, Store
from alertd.app.service import require
from alertd.core.actor import Actor, ActorKind
from alertd.core.audit import AuditEntry
from alertd.core.camera import (
    CameraSource,
    PlacedCamera,
    SourceCredentials,
    SourceKind,
    ViewGrant,
    cameras_of,
    check_grant,
    nearest_cameras,
    new_source,
)
from alertd.core.errors import Malformed, NotFound
from alertd.core.notice import Notice, NoticeType
from alertd.core.permission import Action, Principal, Role, Verdict, authorize
from alertd.core.site import School

logger = logging.getLogger(__name__)

CAMERA_RELAY = Actor("camera-relay", "alertd camera relay", ActorKind.SYSTEM, "system")
_CREDENTIALS_PURPOSE = "camera-source:"


@dataclass(frozen=True, slots=True)
class CameraListing:
    """A camera as a client sees it: placement, source kind (never the URL's secrets),
    whether the asker may watch it, and whether its source is delivering right now."""

    placed: PlacedCamera
    source_kind: SourceKind | None
    source_url: str | None  # only for those who manage cameras
    has_credentials: bool
    viewable: bool
    online: bool | None
    viewers: int
    covers_room: bool


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime
    camera_id: str


@dataclass(frozen=True, slots=True)
class _OpenView:
    grant: ViewGrant
    started: datetime


class CameraService:
    """Errors from `alertd.core.errors` are permanent for the request as sent."""

    def __init__(
        self,
        *,
        store: Store,
        sources: CameraSourceStore,
        tokens: ViewTokens,
        relay: VideoRelay,
        box: SecretBox,
        bus: EventBus,
        clock: Clock,
        token_lifetime: timedelta,
    ) -> None:
        self._store = store
        self._sources = sources
        self._tokens = tokens
        self._relay = relay
        self._box = box
        self._bus = bus
        self._clock = clock
        self._token_lifetime = token_lifetime
        self._views: dict[str, _OpenView] = {}
        relay.listen(self.record_health)

    # --- the registry ---------------------------------------------------------------------

    async def list_cameras(
        self, *, principal: Principal, school_id: str, room_id: str | None = None
    ) -> list[CameraListing]:
        """The school's cameras, those covering `room_id` first, then its floor's, nearest
        first, then the rest. NotFound outside the principal's schools."""
        school = await self._school(principal, school_id, Action.VIEW_SITE)
        sources = {s.camera_id: s for s in await self._sources.sources(school_id)}
        manages = authorize(principal, Action.MANAGE_CAMERAS, school_id=school_id)
        views = authorize(principal, Action.VIEW_CAMERA, school_id=school_id)
        listings = []
        for placed in nearest_cameras(school, room_id):
            source = sources.get(placed.camera.id)
            listings.append(
                CameraListing(
                    placed=placed,
                    source_kind=source.kind if source else None,
                    source_url=source.url if source and manages is Verdict.ALLOW else None,
                    has_credentials=bool(source and source.sealed_credentials),
                    viewable=source is not None and views is Verdict.ALLOW,
                    online=self._relay.online(placed.camera.id),
                    viewers=self._relay.viewers(placed.camera.id),
                    covers_room=room_id is not None and room_id in placed.camera.room_ids,
                )
            )
        return listings

    async def set_source(
        self,
        *,
        principal: Principal,
        camera_id: str,
        url: str,
        username: str | None = None,
        password: str | None = None,
    ) -> CameraListing:
        """Register (or replace) a camera's source. The camera must be placed on a floor of
        the school by its site document. The audit entry names the kind and whether
        credentials were given, never the credentials (nor the URL, which may carry a
        token in its query)."""
        placed = await self._locate(principal, camera_id, Action.MANAGE_CAMERAS)
        school_id = placed.school_id
        source = new_source(
            camera_id=camera_id,
            school_id=school_id,
            url=url,
            username=username,
            password=password,
        )
        sealed = None
        if source.credentials is not None:
            secret = json.dumps(
                {"username": source.credentials.username, "password": source.credentials.password}
            )
            sealed = self._box.seal(secret, purpose=_CREDENTIALS_PURPOSE + camera_id)
        now = self._clock.now()
        stored = StoredSource(camera_id, school_id, source.kind, source.url, sealed, now)
        entry = AuditEntry.by(
            principal,
            "camera.source_set",
            at=now,
            school_id=school_id,
            subject=camera_id,
            detail={"kind": source.kind.value, "credentials": sealed is not None},
        )
        await self._sources.save_source(stored, audit=[entry])
        return CameraListing(
            placed=placed,
            source_kind=source.kind,
            source_url=source.url,
            has_credentials=sealed is not None,
            viewable=authorize(principal, Action.VIEW_CAMERA, school_id=school_id) is Verdict.ALLOW,
            online=self._relay.online(camera_id),
            viewers=self._relay.viewers(camera_id),
            covers_room=False,
        )

    async def remove_source(self, *, principal: Principal, camera_id: str) -> None:
        """Forget a camera's source. NotFound when it has none."""
        placed = await self._locate(principal, camera_id, Action.MANAGE_CAMERAS)
        school_id = placed.school_id
        entry = AuditEntry.by(
            principal,
            "camera.source_removed",
            at=self._clock.now(),
            school_id=school_id,
            subject=camera_id,
        )
        if not await self._sources.delete_source(camera_id, audit=[entry]):
            raise NotFound("camera source", camera_id)

    # --- viewing --------------------------------------------------------------------------

    async def issue_view_token(self, *, principal: Principal, camera_id: str) -> IssuedToken:
        """A token for one WHEP session on `camera_id`, valid for the configured lifetime.
        NotFound for a camera outside the principal's schools (or without a source);
        Forbidden for a role that may not watch."""
        stored = await self._sources.source(camera_id)
        verdict = authorize(
            principal, Action.VIEW_CAMERA, school_id=stored.school_id if stored else None
        )
        if stored is None or verdict is Verdict.HIDDEN:
            raise NotFound("camera", camera_id)
        require(verdict, what="camera", ident=camera_id, action=Action.VIEW_CAMERA)
        now = self._clock.now()
        grant = ViewGrant(
            actor_id=principal.actor.id,
            role=principal.role.value,
            camera_id=camera_id,
            school_id=stored.school_id,
            expires_at=now + self._token_lifetime,
            token_id="",
        )
        return IssuedToken(self._tokens.issue(grant, now=now), grant.expires_at, camera_id)

    async def start_view(self, *, token: str, camera_id: str, offer_sdp: str) -> ViewSession:
        """Answer a WHEP offer. Unauthenticated for a missing, bad, expired or other
        camera's token; Forbidden when the token's role may not watch; ValidationFailed
        ("offer") for an offer the relay cannot answer. Nothing stays open on an error."""
        now = self._clock.now()
        grant = self._tokens.read(token)
        check_grant(grant, camera_id=camera_id, now=now)
        viewer = _viewer(grant)
        stored = await self._sources.source(camera_id)
        if stored is None or stored.school_id != grant.school_id:
            raise NotFound("camera", camera_id)
        verdict = authorize(viewer, Action.VIEW_CAMERA, school_id=stored.school_id)
        require(verdict, what="camera", ident=camera_id, action=Action.VIEW_CAMERA)
        try:
            session = await self._relay.open_session(self._source(stored), offer_sdp=offer_sdp)
        except BadOffer as error:
            raise Malformed("offer", f"the SDP offer cannot be answered: {error}") from None
        try:
            entry = AuditEntry.by(
                viewer,
                "camera.view",
                at=now,
                school_id=stored.school_id,
                subject=camera_id,
                detail={"session": session.session_id, "passthrough": session.passthrough},
            )
            async with self._store.transaction() as tx:
                await tx.audit([entry])
        except BaseException:
            await self._relay.close_session(session.session_id)
            raise
        self._views[session.session_id] = _OpenView(grant, now)
        return session

    async def end_view(self, *, camera_id: str, session_id: str) -> None:
        """End a WHEP session (its resource URL is the capability). NotFound when there is
        no such session of this camera."""
        session = self._relay.session(session_id)
        if session is None or session.camera_id != camera_id:
            raise NotFound("session", session_id)
        await self._relay.close_session(session_id)
        view = self._views.pop(session_id, None)
        if view is None:
            return
        now = self._clock.now()
        entry = AuditEntry(
            at=now,
            actor_id=view.grant.actor_id,
            actor_role=view.grant.role,
            action="camera.view_ended",
            school_id=view.grant.school_id,
            subject=camera_id,
            detail={"session": session_id, "seconds": int((now - view.started).total_seconds())},
        )
        async with self._store.transaction() as tx:
            await tx.audit([entry])

    async def trickle(
        self, *, camera_id: str, session_id: str, candidates: list[tuple[str, str | None]]
    ) -> None:
        """Add the viewer's trickled ICE candidates ((candidate, mid) pairs)."""
        session = self._relay.session(session_id)
        if session is None or session.camera_id != camera_id:
            raise NotFound("session", session_id)
        for candidate, mid in candidates:
            try:
                await self._relay.add_candidate(session_id, candidate, mid=mid)
            except BadOffer as error:
                raise Malformed("candidate", str(error)) from None

    async def close(self) -> None:
        await self._relay.close()
        self._views.clear()

    # --- health ---------------------------------------------------------------------------

    async def record_health(self, health: SourceHealth) -> None:
        """A source went offline or came back: append the notice and publish it, so that
        the consoles show it. Called by the relay from its supervised tasks; a database
        error is logged there and never reaches the alert path."""
        notice = Notice(
            type=NoticeType.CAMERA_ONLINE if health.online else NoticeType.CAMERA_OFFLINE,
            at=self._clock.now(),
            actor=CAMERA_RELAY,
            school_id=health.school_id,
            data={"camera_id": health.camera_id, "reason": health.reason},
        )
        async with self._store.transaction() as tx:
            logged = await tx.append([notice])
        await self._bus.publish(logged)

    # --- helpers --------------------------------------------------------------------------

    async def _school(self, principal: Principal, school_id: str, action: Action) -> School:
        verdict = authorize(principal, action, school_id=school_id)
        school = await self._store.school(school_id) if verdict is not Verdict.HIDDEN else None
        if school is None:
            raise NotFound("school", school_id)
        require(verdict, what="school", ident=school_id, action=action)
        return school

    async def _locate(self, principal: Principal, camera_id: str, action: Action) -> PlacedCamera:
        """The camera placed by a site document, in a school the principal covers."""
        for ref in await self._store.schools():
            if not principal.covers(ref.id):
                continue
            school = await self._store.school(ref.id)
            placed = (
                next((p for p in cameras_of(school) if p.camera.id == camera_id), None)
                if school
                else None
            )
            if placed is not None:
                require(
                    authorize(principal, action, school_id=ref.id),
                    what="camera",
                    ident=camera_id,
                    action=action,
                )
                return placed
        raise NotFound("camera", camera_id)

    def _source(self, stored: StoredSource) -> CameraSource:
        credentials = None
        if stored.sealed_credentials is not None:
            opened = json.loads(
                self._box.open(
                    stored.sealed_credentials, purpose=_CREDENTIALS_PURPOSE + stored.camera_id
                )
            )
            credentials = SourceCredentials(opened["username"], opened["password"])
        source = CameraSource(stored.camera_id, stored.school_id, stored.kind, stored.url)
        return replace(source, credentials=credentials)


def _viewer(grant: ViewGrant) -> Principal:
    """The principal a view token stands for: its role, at the camera's school only."""
    try:
        role = Role(grant.role)
    except ValueError:
        role = Role.STAFF  # an unknown role may do nothing the table does not give staff
    actor = Actor(grant.actor_id, grant.actor_id, ActorKind.USER, grant.role)
    return Principal(actor=actor, role=role, school_ids=frozenset({grant.school_id}))
