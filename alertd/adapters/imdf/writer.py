"""Writing a school as an IMDF archive: manifest, address, venue, building, footprint, level
and unit features, each file a GeoJSON FeatureCollection (OGC 20-094).

IMDF ids are UUIDs; ours are slugs, so each is derived from ours (`imdf_id`, a UUID 5), the
same on every export, and the reader maps them back when the archive is imported again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import TZPATH

from alertd.adapters.codec import iso
from alertd.core.site import Building, Floor, School

IMDF_VERSION = "1.0.0"
_NAMESPACE = uuid.UUID("6f1f0c4e-5f2b-4a8e-9a61-1c3d2b7e9a10")

# Our room types as IMDF unit categories.
UNIT_CATEGORY = {
    "classroom": "classroom",
    "lab": "laboratory",
    "office": "office",
    "gym": "fitnessroom",
    "cafeteria": "foodservice",
    "library": "library",
    "auditorium": "auditorium",
    "restroom": "restroom",
    "corridor": "walkway",
    "stairwell": "stairs",
    "nurse": "firstaid",
    "storage": "storage",
    "other": "room",
}

Json = dict[str, Any]


def imdf_id(ident: str) -> str:
    """The IMDF id (a UUID) of one of our ids; the same on every export."""
    return str(uuid.uuid5(_NAMESPACE, ident))


def imdf_documents(school: School, *, now: datetime) -> dict[str, Json]:
    """Every file of the school's archive, by file name."""
    address_id = imdf_id(f"{school.id}:address")
    venue_geometry = _bounding_box(
        [floor.outline for building in school.buildings for floor in building.floors]
    )
    buildings, footprints, levels, units = [], [], [], []
    for building in school.buildings:
        building_id = imdf_id(building.id)
        ground = _ground_floor(building)
        buildings.append(
            _feature(
                building_id,
                "building",
                None,
                {
                    "name": _label(building.name),
                    "alt_name": None,
                    "category": "unspecified",
                    "restriction": None,
                    "display_point": _display_point(ground.outline),
                    "address_id": None,
                },
            )
        )
        footprints.append(
            _feature(
                imdf_id(f"{building.id}:footprint"),
                "footprint",
                ground.outline,
                {"category": "ground", "name": None, "building_ids": [building_id]},
            )
        )
        for floor in building.floors:
            levels.append(_level(floor, building_id))
            units.extend(_units(floor))
    venue = _feature(
        imdf_id(school.id),
        "venue",
        venue_geometry,
        {
            "category": "university",  # IMDF has no school category; the closest campus one
            "restriction": None,
            "name": _label(school.name),
            "alt_name": None,
            "hours": None,
            "phone": None,
            "website": None,
            "display_point": _display_point(venue_geometry),
            "address_id": address_id,
        },
    )
    address = _feature(address_id, "address", None, _address(school))
    return {
        "manifest.json": {
            "version": IMDF_VERSION,
            "created": iso(now),
            "generated_by": "alertd",
            "language": "en",
            "extensions": None,
        },
        "address.geojson": _collection([address]),
        "venue.geojson": _collection([venue]),
        "building.geojson": _collection(buildings),
        "footprint.geojson": _collection(footprints),
        "level.geojson": _collection(levels),
        "unit.geojson": _collection(units),
    }


def _level(floor: Floor, building_id: str) -> Json:
    return _feature(
        imdf_id(floor.id),
        "level",
        floor.outline,
        {
            "category": "unspecified",
            "restriction": None,
            "ordinal": floor.ordinal,
            "outdoor": False,
            "name": _label(floor.name),
            "short_name": _label(str(floor.ordinal + 1) if floor.ordinal >= 0 else floor.name[:8]),
            "display_point": _display_point(floor.outline),
            "address_id": None,
            "building_ids": [building_id],
        },
    )


def _units(floor: Floor) -> list[Json]:
    return [
        _feature(
            imdf_id(room.id),
            "unit",
            room.geometry,
            {
                "category": UNIT_CATEGORY[room.type.value],
                "restriction": None,
                "accessibility": None,
                "name": _label(room.name),
                "alt_name": _label(room.number),
                "display_point": _display_point(room.geometry),
                "level_id": imdf_id(floor.id),
            },
        )
        for room in floor.rooms
    ]


def _address(school: School) -> Json:
    street = school.address or school.name
    parts = [p.strip() for p in street.split(",") if p.strip()]
    return {
        "address": parts[0] if parts else street,
        "unit": None,
        "locality": parts[-1] if len(parts) > 1 else school.name,
        "province": None,
        "country": country_of(school.timezone),
        "postal_code": None,
        "postal_code_ext": None,
        "postal_code_vanity": None,
    }


def country_of(timezone: str) -> str:
    """The ISO 3166 country of an IANA time zone (from the system's zone.tab), "ZZ" if unknown."""
    for root in TZPATH:
        table = Path(root) / "zone.tab"
        if table.is_file():
            for line in table.read_text("utf-8").splitlines():
                fields = line.split("\t")
                if len(fields) >= 3 and not line.startswith("#") and fields[2] == timezone:
                    return fields[0]
    return "ZZ"


def _ground_floor(building: Building) -> Floor:
    return min(building.floors, key=lambda floor: abs(floor.ordinal))


def _feature(ident: str, feature_type: str, geometry: Any, properties: Json) -> Json:
    return {
        "id": ident,
        "type": "Feature",
        "feature_type": feature_type,
        "geometry": dict(geometry) if geometry is not None else None,
        "properties": properties,
    }


def _collection(features: list[Json]) -> Json:
    return {"type": "FeatureCollection", "features": features}


def _label(text: str) -> Json:
    return {"en": text}


def _positions(geometry: Any) -> Iterable[list[float]]:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    for polygon in polygons:
        for ring in polygon[:1]:  # outer rings
            yield from ring


def _display_point(geometry: Any) -> Json:
    """The centre of the outer rings' vertices: inside every convex room, near it otherwise."""
    points = list(_positions(geometry))[:-1] or list(_positions(geometry))
    lon = sum(p[0] for p in points) / len(points)
    lat = sum(p[1] for p in points) / len(points)
    return {"type": "Point", "coordinates": [round(lon, 8), round(lat, 8)]}


def _bounding_box(geometries: list[Any]) -> Json:
    points = [p for g in geometries for p in _positions(g)]
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}
