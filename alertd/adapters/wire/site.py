"""The site document: district, agencies, schools, buildings, floors and rooms (version 1).

Geometry is GeoJSON in WGS84 longitude/latitude, the IMDF convention, so floors and rooms
export one to one as IMDF level and unit features.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alertd.core.routing import RecipientKind
from alertd.core.site import (
    Agency,
    Building,
    Camera,
    Contact,
    District,
    Floor,
    Room,
    RoomType,
    School,
    Site,
)

SiteIdent = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
Phone = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")


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


class ContactIn(_Strict):
    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=120)
    role: Literal[RecipientKind.SRO, RecipientKind.SCHOOL_ADMIN]
    sms: str | None = Phone


class SchoolIn(_Strict):
    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(min_length=1, max_length=64, examples=["America/Chicago"])
    address: str | None = Field(default=None, max_length=300)
    contacts: list[ContactIn] = []
    buildings: list[BuildingIn] = Field(min_length=1)


class AgencyIn(_Strict):
    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["law_enforcement", "fire_ems", "other"]
    sms: str | None = Phone
    schools: list[str] = Field(description="ids of the schools this agency covers")


class DistrictIn(_Strict):
    id: str = SiteIdent
    name: str = Field(min_length=1, max_length=200)


class SiteDocument(_Strict):
    version: Literal[1] = 1
    district: DistrictIn
    agencies: list[AgencyIn] = []
    schools: list[SchoolIn] = Field(min_length=1)

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
        return self

    def to_site(self) -> Site:
        district = District(self.district.id, self.district.name)
        return Site(
            district=district,
            schools=tuple(_school(s, district.id) for s in self.schools),
            agencies=tuple(
                Agency(a.id, a.name, a.kind, a.sms, frozenset(a.schools)) for a in self.agencies
            ),
        )


def _ids_of(school: SchoolIn) -> list[str]:
    ids = [school.id, *(c.id for c in school.contacts)]
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
            Contact(c.id, c.name, RecipientKind(c.role), c.sms) for c in school.contacts
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
    )
