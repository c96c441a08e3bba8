"""Cameras: where their video comes from, who may watch, which ones to show for a room.

A camera is placed by the site document (`alertd.core.site.Camera`: floor, position, rooms
it covers). Its *source* is registered apart, by an admin, because a source names a device
on the school's network and may need credentials, which are sealed at rest and never leave
the server. Pure: URLs are parsed, never opened, here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from alertd.core.errors import Unauthenticated, ValidationFailed
from alertd.core.site import Camera, Floor, School


class SourceKind(StrEnum):
    RTSP = "rtsp"  # the common case for school cameras; H.264 is passed through
    MJPEG = "mjpeg"  # an HTTP(S) multipart JPEG stream: decoded once, encoded per viewer
    FILE = "file"  # a recording on the server (an MPEG-TS of H.264 passes through)
    TEST_PATTERN = "test-pattern"  # generated in process: the demo and the tests


_SCHEMES = {
    "rtsp": SourceKind.RTSP,
    "rtsps": SourceKind.RTSP,
    "http": SourceKind.MJPEG,
    "https": SourceKind.MJPEG,
    "file": SourceKind.FILE,
    "test-pattern": SourceKind.TEST_PATTERN,
}


@dataclass(frozen=True, slots=True)
class SourceCredentials:
    """A camera's user name and password. Sealed at rest; its repr hides the password."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"SourceCredentials(username={self.username!r}, password=***)"


@dataclass(frozen=True, slots=True)
class CameraSource:
    """Where a camera's video comes from. `url` never holds credentials (see `parse_source`)."""

    camera_id: str
    school_id: str
    kind: SourceKind
    url: str
    credentials: SourceCredentials | None = None


def parse_source_url(url: str) -> SourceKind:
    """The kind of a source URL, or ValidationFailed("url").

    `rtsp://host/path`, `http(s)://host/path` (MJPEG), `file:///absolute/path`,
    `test-pattern:` (optionally `test-pattern:?fps=15&size=640x480`). Credentials in the
    URL are refused: they would be shown wherever the URL is; send them apart.
    """
    if len(url) > 2000:
        raise ValidationFailed("url", "a source URL has at most 2000 characters")
    parts = urlsplit(url.strip())
    kind = _SCHEMES.get(parts.scheme.lower())
    if kind is None:
        raise ValidationFailed(
            "url",
            "a source URL starts with rtsp://, rtsps://, http(s)://, file:// or test-pattern:",
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationFailed(
            "url", "put no credentials in the URL: send them as username and password"
        )
    if kind in (SourceKind.RTSP, SourceKind.MJPEG) and not parts.hostname:
        raise ValidationFailed("url", f"a {kind.value} source URL names a host")
    if kind is SourceKind.FILE and (parts.netloc or not parts.path.startswith("/")):
        raise ValidationFailed("url", "a file source is file:///an/absolute/path")
    return kind


def new_source(
    *,
    camera_id: str,
    school_id: str,
    url: str,
    username: str | None,
    password: str | None,
) -> CameraSource:
    """A validated source. A password needs a user name (and the other way round), and a
    test pattern takes neither."""
    kind = parse_source_url(url)
    credentials = None
    if username or password:
        if not username:
            raise ValidationFailed("username", "a password needs a user name")
        if password is None:
            raise ValidationFailed("password", "a user name needs a password")
        if kind in (SourceKind.TEST_PATTERN, SourceKind.FILE):
            raise ValidationFailed("username", f"a {kind.value} source takes no credentials")
        if len(username) > 200 or len(password) > 500:
            raise ValidationFailed("password", "credentials are too long")
        credentials = SourceCredentials(username, password)
    return CameraSource(camera_id, school_id, kind, url.strip(), credentials)


@dataclass(frozen=True, slots=True)
class PlacedCamera:
    """A camera with where it hangs: its school, building and floor."""

    camera: Camera
    school_id: str
    building_id: str
    floor_id: str


def cameras_of(school: School) -> list[PlacedCamera]:
    return [
        PlacedCamera(camera, school.id, building.id, floor.id)
        for building in school.buildings
        for floor in building.floors
        for camera in floor.cameras
    ]


def find_camera(schools: Sequence[School], camera_id: str) -> PlacedCamera | None:
    for school in schools:
        for placed in cameras_of(school):
            if placed.camera.id == camera_id:
                return placed
    return None


def nearest_cameras(school: School, room_id: str | None) -> list[PlacedCamera]:
    """The school's cameras in the order a responder wants them for `room_id`: those that
    cover the room, then the others on its floor (nearest the room first), then the rest.
    Without a room (or an unknown one), every camera in site order."""
    placed = cameras_of(school)
    found = school.locate(room_id) if room_id is not None else None
    if found is None:
        return placed
    _, floor, room = found
    centre = _centre(room.geometry)

    def rank(p: PlacedCamera) -> tuple[int, float]:
        if room.id in p.camera.room_ids:
            group = 0
        elif p.floor_id == floor.id:
            group = 1
        else:
            return (2, 0.0)
        return (group, _distance2(p.camera.position, centre))

    return sorted(placed, key=rank)  # sorted is stable: the rest keep site order


def floor_of(school: School, floor_id: str) -> Floor | None:
    return next((f for b in school.buildings for f in b.floors if f.id == floor_id), None)


def _centre(geometry: object) -> tuple[float, float] | None:
    """The mean of a polygon's outer ring (good enough to rank cameras on one floor)."""
    if not isinstance(geometry, dict):
        return None
    coordinates = geometry.get("coordinates")
    ring = None
    if geometry.get("type") == "Polygon" and coordinates:
        ring = coordinates[0]
    elif geometry.get("type") == "MultiPolygon" and coordinates and coordinates[0]:
        ring = coordinates[0][0]
    if not ring:
        return None
    points = ring[:-1] or ring
    return (
        sum(float(p[0]) for p in points) / len(points),
        sum(float(p[1]) for p in points) / len(points),
    )


def _distance2(a: tuple[float, float], b: tuple[float, float] | None) -> float:
    if b is None:
        return 0.0
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


# --- viewing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ViewGrant:
    """What a view token says: this person, in this role, may watch this camera of this
    school until `expires_at`. Issued after `authorize(VIEW_CAMERA)`; checked again (pure)
    when the token comes back with a WHEP offer."""

    actor_id: str
    role: str
    camera_id: str
    school_id: str
    expires_at: datetime
    token_id: str


def check_grant(grant: ViewGrant, *, camera_id: str, now: datetime) -> None:
    """Raises Unauthenticated unless the grant is for this camera and still fresh."""
    if grant.camera_id != camera_id:
        raise Unauthenticated("the view token is for another camera", field="Authorization")
    if now >= grant.expires_at:
        raise Unauthenticated(
            "the view token has expired; ask for a new one", field="Authorization"
        )


# --- the source's health ------------------------------------------------------------------


def retry_delay(failures: int, *, first: timedelta, cap: timedelta) -> timedelta:
    """How long to wait before reopening a source that failed `failures` times in a row:
    doubling from `first`, at most `cap`."""
    if failures <= 0:
        return timedelta(0)
    delay: timedelta = first * (2 ** min(failures - 1, 16))
    return min(cap, delay)
