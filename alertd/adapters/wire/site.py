"""The site document: district, agencies, schools, buildings, floors and rooms (version 1).

Geometry is GeoJSON in WGS84 longitude/latitude, the IMDF convention, so floors and rooms
export one to one as IMDF level and unit features.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alertd.core.delivery import Channel
from alertd.core.escalation import GROUP_TARGETS, MAX_REPEATS, MAX_STEPS, Policy, Step
from alertd.core.kind import AlertKind
from alertd.core.routing import RecipientKind
from alertd.core.site import (
    Agency,
    Building,
    Camera,
    Contact,
    District,
    EscalationRule,
    Floor,
    ReunificationSite,
    Room,
    RoomType,
    School,
    Site,
)

SiteIdent = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
Phone = Field(default=None, pattern=PHONE_PATTERN, description="E.164")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolygonIn(_Strict):
    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _rings_closed(self) -> PolygonIn:
        polygons = [self.coordinates] if self.type == "Polygon" else self.coordinates
        for polygon in polygons:
            if not isinstance(polygon, list) or not polygon:
                raise ValueError("a polygon is a non-empty list of rings")
            for ring in polygon:
                _check_ring(ring)
        return self


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_ring(ring: object) -> None:
    """A closed ring of 4+ [longitude, latitude] positions in WGS84 (RFC 7946)."""
    if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
        raise ValueError("every ring needs 4+ positions and must be closed")
    for position in ring:
        if (
            not isinstance(position, list)
            or len(position) not in (2, 3)
            or not all(_is_number(v) for v in position)
        ):
            raise ValueError("a position is [longitude, latitude] (and an optional height)")
        lon, lat = position[0], position[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError("positions are [longitude, latitude] in WGS84")


class RoomIn(_Strict):
    id: str = SiteIdent
    number: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=120)
    type: RoomType
    geometry: PolygonIn


class CameraIn(_Strict):
    """A camera on this floor. Video sources come with the cameras work; this places it."""

    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=120)
    position: list[float] = Field(
        min_length=2, max_length=2, description="[longitude, latitude] in WGS84"
    )
    room_ids: list[str] = Field(default=[], description="the rooms of this floor it covers")

    @model_validator(mode="after")
    def _position_in_wgs84(self) -> CameraIn:
        lon, lat = self.position
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError("position is [longitude, latitude] in WGS84")
        return self


class FloorIn(_Strict):
    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=120)
    ordinal: int = Field(ge=-10, le=200, description="0 is the ground floor (IMDF level ordinal)")
    outline: PolygonIn
    rooms: list[RoomIn]
    cameras: list[CameraIn] = []

    @model_validator(mode="after")
    def _cameras_cover_rooms_of_this_floor(self) -> FloorIn:
        rooms = {room.id for room in self.rooms}
        for camera in self.cameras:
            unknown = sorted(set(camera.room_ids) - rooms)
            if unknown:
                raise ValueError(f"camera {camera.id!r} covers rooms not on this floor: {unknown}")
        return self


class BuildingIn(_Strict):
    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=120)
    floors: list[FloorIn] = Field(min_length=1)


TestContact = Field(
    default=False, description="drills reach test contacts only (and never anyone else)"
)
Backup = Field(
    default=False,
    description="reached only by escalation steps that target backups, never at first",
)


class ContactIn(_Strict):
    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=120)
    role: Literal[RecipientKind.SRO, RecipientKind.SCHOOL_ADMIN]
    sms: str | None = Phone
    voice: str | None = Field(
        default=None, pattern=PHONE_PATTERN, description="E.164 number to call; default: sms"
    )
    test_contact: bool = TestContact
    backup: bool = Backup


class ReunificationSiteIn(_Strict):
    """Where students are reunited with their guardians after an evacuation."""

    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    position: list[float] | None = Field(
        default=None, min_length=2, max_length=2, description="[longitude, latitude] in WGS84"
    )
    note: str | None = Field(default=None, max_length=500, description="directions, who runs it")

    @model_validator(mode="after")
    def _position_in_wgs84(self) -> ReunificationSiteIn:
        if self.position is not None:
            lon, lat = self.position
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError("position is [longitude, latitude] in WGS84")
        return self


class SchoolIn(_Strict):
    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(min_length=1, max_length=64, examples=["America/Chicago"])
    address: str | None = Field(default=None, max_length=300)
    contacts: list[ContactIn] = []
    buildings: list[BuildingIn] = Field(min_length=1)
    reunification_sites: list[ReunificationSiteIn] = Field(
        default=[], description="where an evacuation's roll sends families; first is primary"
    )


class AgencyIn(_Strict):
    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["law_enforcement", "fire", "ems", "fire_ems", "district_security", "other"]
    sms: str | None = Phone
    voice: str | None = Field(
        default=None, pattern=PHONE_PATTERN, description="E.164 number to call; default: sms"
    )
    schools: list[str] = Field(description="ids of the schools this agency covers")
    alert_kinds: list[AlertKind] | None = Field(
        default=None,
        description="the alert kinds it is told of (of those that involve agencies); omit for all",
    )
    test_contact: bool = TestContact
    backup: bool = Backup


class StepIn(_Strict):
    targets: list[str] = Field(
        min_length=1,
        description="recipient kinds (sro, school_admin, agency), 'backup', or recipient ids",
    )
    channel: Channel
    after_seconds: int = Field(
        ge=0, le=86400, description="delay after the previous step (the first: after raising)"
    )
    repeats: int = Field(default=0, ge=0, le=MAX_REPEATS, description="repeat this step")

    def to_step(self) -> Step:
        return Step(
            tuple(self.targets), self.channel, timedelta(seconds=self.after_seconds), self.repeats
        )


class EscalationIn(_Strict):
    """While nobody acknowledges: the steps for some schools and kinds. The first policy
    that applies to an alert is used; kinds no policy names use the built-in default."""

    schools: list[str] | None = Field(default=None, description="omit for every school")
    kinds: list[AlertKind] | None = Field(default=None, description="omit for every kind")
    steps: list[StepIn] = Field(max_length=MAX_STEPS, description="empty: no escalation")


class DistrictIn(_Strict):
    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=200)


class SiteDocument(_Strict):
    version: Literal[1] = 1
    district: DistrictIn
    agencies: list[AgencyIn] = []
    schools: list[SchoolIn] = Field(min_length=1)
    escalation: list[EscalationIn] = []

    @model_validator(mode="after")
    def _ids_unique_and_known(self) -> SiteDocument:
        seen: set[str] = set()
        for school in self.schools:
            for ident in _ids_of(school):
                if ident in seen:
                    raise ValueError(f"id {ident!r} is used twice")
                seen.add(ident)
        school_ids = {s.id for s in self.schools}
        for agency in self.agencies:
            unknown = sorted(set(agency.schools) - school_ids)
            if unknown:
                raise ValueError(f"agency {agency.id!r} covers unknown schools {unknown}")
        recipients = seen | {a.id for a in self.agencies}
        for rule in self.escalation:
            unknown = sorted(set(rule.schools or ()) - school_ids)
            if unknown:
                raise ValueError(f"an escalation policy names unknown schools {unknown}")
            for step in rule.steps:
                bad = sorted(set(step.targets) - GROUP_TARGETS - recipients)
                if bad:
                    raise ValueError(f"an escalation step names unknown targets {bad}")
        return self

    def to_site(self) -> Site:
        district = District(self.district.id, self.district.name)
        return Site(
            district=district,
            schools=tuple(_school(s, district.id) for s in self.schools),
            agencies=tuple(
                Agency(
                    a.id,
                    a.name,
                    a.kind,
                    a.sms,
                    frozenset(a.schools),
                    voice=a.voice,
                    alert_kinds=frozenset(a.alert_kinds) if a.alert_kinds is not None else None,
                    test_contact=a.test_contact,
                    backup=a.backup,
                )
                for a in self.agencies
            ),
            escalation=tuple(
                EscalationRule(
                    Policy(tuple(s.to_step() for s in rule.steps)),
                    school_ids=frozenset(rule.schools) if rule.schools is not None else None,
                    kinds=frozenset(rule.kinds) if rule.kinds is not None else None,
                )
                for rule in self.escalation
            ),
        )


def _ids_of(school: SchoolIn) -> list[str]:
    ids = [school.id, *(c.id for c in school.contacts)]
    ids.extend(site.id for site in school.reunification_sites)
    for building in school.buildings:
        ids.append(building.id)
        for floor in building.floors:
            ids.append(floor.id)
            ids.extend(room.id for room in floor.rooms)
            ids.extend(camera.id for camera in floor.cameras)
    return ids


def _school(school: SchoolIn, district_id: str) -> School:
    return School(
        id=school.id,
        name=school.name,
        district_id=district_id,
        timezone=school.timezone,
        address=school.address,
        contacts=tuple(
            Contact(
                c.id,
                c.name,
                RecipientKind(c.role),
                c.sms,
                voice=c.voice,
                test_contact=c.test_contact,
                backup=c.backup,
            )
            for c in school.contacts
        ),
        buildings=tuple(
            Building(
                b.id,
                b.name,
                tuple(
                    Floor(
                        f.id,
                        f.name,
                        f.ordinal,
                        f.outline.model_dump(),
                        tuple(
                            Room(r.id, r.number, r.name, r.type, r.geometry.model_dump())
                            for r in f.rooms
                        ),
                        tuple(
                            Camera(c.id, c.name, (c.position[0], c.position[1]), tuple(c.room_ids))
                            for c in f.cameras
                        ),
                    )
                    for f in b.floors
                ),
            )
            for b in school.buildings
        ),
        reunification_sites=tuple(
            ReunificationSite(
                r.id,
                r.name,
                r.address,
                (r.position[0], r.position[1]) if r.position is not None else None,
                r.note,
            )
            for r in school.reunification_sites
        ),
    )
