"""Reading an IMDF archive into a school's buildings, floors and rooms. Pure: no I/O.

Real archives are untidy, so the reader is lenient where nothing is lost and strict where
something would be wrong:

- feature files are `unit.geojson` as IMDF names them, or `unit.json` as some converters
  (osmtoimdf, for one) write them; the `.geojson` one wins when both are there;
- names are language maps (`{"en": ..., "ru": ...}`, English preferred) or null (then the
  category and a number, "Classroom 3", that no other unit is called); buildings without a
  name are "Building 2";
- a level belongs to the buildings it names; ordinals are kept per building (one building's
  "Floor 1" may be ordinal 0, another's ordinal 1);
- `display_point` is not needed (the console places labels itself); unknown properties and
  files are ignored (files are reported as skipped);
- every unit becomes a drawable room, walkways and stairs too, typed from its category;
- units without geometry, outdoor levels and buildings without levels are skipped, with the
  reason in the report.

Refused (ValidationFailed, naming the file and the feature id; nothing is saved): a file that
is not JSON or not a FeatureCollection, a feature without an id, an id used twice, a unit
whose `level_id` points nowhere, a ring that is not closed or not in WGS84, a level ordinal
out of range.

Ids: alertd ids are derived from the IMDF UUIDs (stable across imports of the same archive),
and a feature exported from this school (`writer.imdf_id` of one of its ids) gets its old id
back, so that export, edit elsewhere and re-import keeps every room id that alerts refer to.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from alertd.adapters.wire.site import PolygonIn
from alertd.core.errors import ValidationFailed
from alertd.core.site import Building, Floor, Room, RoomType, School

MANIFEST = "manifest.json"
READ_TYPES = ("venue", "building", "level", "unit")
REQUIRED_TYPES = ("level", "unit")
ID_MAX = 64
NAME_MAX = 120
NUMBER_MAX = 16

# IMDF unit category (the part before any ".") -> our room type; the rest are "other".
ROOM_TYPE_OF_CATEGORY: Mapping[str, RoomType] = {
    "classroom": RoomType.CLASSROOM,
    "laboratory": RoomType.LAB,
    "office": RoomType.OFFICE,
    "administration": RoomType.OFFICE,
    "conferenceroom": RoomType.OFFICE,
    "fitnessroom": RoomType.GYM,
    "foodservice": RoomType.CAFETERIA,
    "library": RoomType.LIBRARY,
    "auditorium": RoomType.AUDITORIUM,
    "theater": RoomType.AUDITORIUM,
    "restroom": RoomType.RESTROOM,
    "walkway": RoomType.CORRIDOR,
    "stairs": RoomType.STAIRWELL,
    "elevator": RoomType.STAIRWELL,
    "escalator": RoomType.STAIRWELL,
    "ramp": RoomType.STAIRWELL,
    "firstaid": RoomType.NURSE,
    "healthcare": RoomType.NURSE,
    "storage": RoomType.STORAGE,
}


@dataclass(frozen=True, slots=True)
class ImdfPlan:
    """What an archive holds for one school, and what was left out (with why)."""

    buildings: tuple[Building, ...]
    skipped: tuple[str, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        floors = [f for b in self.buildings for f in b.floors]
        return {
            "buildings": len(self.buildings),
            "levels": len(floors),
            "units": sum(len(f.rooms) for f in floors),
        }


def read_imdf(
    files: Mapping[str, bytes],
    *,
    school_id: str,
    existing: School | None,
    imdf_id: Callable[[str], str],
) -> ImdfPlan:
    """The buildings of `files` (an archive's top-level files by name) for `school_id`.

    `existing` is the school as it stands (None if new): features exported from it keep their
    ids; `imdf_id` is how the writer turns an alertd id into an IMDF id.
    """
    named = _feature_files(files)
    missing = [MANIFEST] if MANIFEST not in files else []
    missing += [f"{kind}.geojson" for kind in REQUIRED_TYPES if kind not in named]
    if missing:
        raise ValidationFailed("archive", f"not an IMDF archive: {', '.join(missing)} missing")
    skipped = [
        f"{name}: not used (only venue, building, level and unit features are read)"
        for name in sorted(files)
        if name not in (MANIFEST, *named.values())
    ]
    _json(files, MANIFEST)
    known = _known_ids(existing, imdf_id)
    ids = _Ids(school_id, known)
    building_file = named.get("building", "building.geojson")
    building_names = _building_names(_features(files, building_file, "building"))
    level_file, unit_file = named["level"], named["unit"]
    levels = _levels(level_file, _features(files, level_file, "level"), building_names, skipped)
    rooms_by_level = _units(unit_file, _features(files, unit_file, "unit"), levels, ids, skipped)
    buildings: list[Building] = []
    for number, (building_id, name) in enumerate(building_names.items(), start=1):
        floors = sorted(
            (
                Floor(
                    id=ids.of(level.id, "l"),
                    name=level.name,
                    ordinal=level.ordinal,
                    outline=level.geometry,
                    rooms=tuple(rooms_by_level.get(level.id, ())),
                )
                for level in levels.values()
                if level is not None and level.building_id == building_id
            ),
            key=lambda floor: floor.ordinal,
        )
        label = name or f"Building {number}"
        if not floors:
            skipped.append(f"{building_file}: feature {building_id}: {label} has no levels")
            continue
        buildings.append(Building(ids.of(building_id, "b"), label[:NAME_MAX], tuple(floors)))
    if not buildings:
        raise ValidationFailed("archive", "the archive has no building with levels")
    return ImdfPlan(tuple(buildings), tuple(skipped))


# --- files and features --------------------------------------------------------------------


def _feature_files(files: Mapping[str, bytes]) -> dict[str, str]:
    """Feature type -> the archive's file holding it, for the types the reader reads."""
    found: dict[str, str] = {}
    for kind in READ_TYPES:
        name = next((n for n in (f"{kind}.geojson", f"{kind}.json") if n in files), None)
        if name is not None:
            found[kind] = name
    return found


def _json(files: Mapping[str, bytes], name: str) -> Any:
    try:
        return json.loads(files[name])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValidationFailed(name, f"{name}: not valid JSON ({error})") from None


def _features(files: Mapping[str, bytes], name: str, feature_type: str) -> list[dict[str, Any]]:
    """The features of one file, each a dict with a string id; [] if the file is absent."""
    if name not in files:
        return []
    document = _json(files, name)
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise ValidationFailed(name, f"{name}: not a GeoJSON FeatureCollection")
    seen: set[str] = set()
    for index, feature in enumerate(features):
        ident = feature.get("id") if isinstance(feature, dict) else None
        if not isinstance(ident, str) or not ident:
            raise ValidationFailed(name, f"{name}: feature #{index + 1} has no id")
        if ident in seen:
            raise ValidationFailed(name, f"{name}: feature {ident}: the id is used twice")
        seen.add(ident)
        kind = feature.get("feature_type")
        if kind is not None and kind != feature_type:
            raise ValidationFailed(
                name, f"{name}: feature {ident}: feature_type {kind!r}, expected {feature_type!r}"
            )
        if not isinstance(feature.get("properties"), dict):
            raise ValidationFailed(name, f"{name}: feature {ident}: properties missing")
    return features


def label_of(value: Any) -> str | None:
    """The text of an IMDF label (a language map): English if there, else the first one."""
    if isinstance(value, str):
        return value.strip() or None
    if not isinstance(value, dict) or not value:
        return None
    english = [k for k in value if isinstance(k, str) and k.lower().startswith("en")]
    for key in [*english, *value]:
        text = value[key]
        if isinstance(text, str) and text.strip():
            return text.strip()
    return None


def _polygon(name: str, feature: dict[str, Any]) -> dict[str, Any]:
    """The feature's Polygon or MultiPolygon, checked; refused naming the file and feature."""
    try:
        return PolygonIn.model_validate(feature.get("geometry")).model_dump()
    except ValidationError as error:
        reason = error.errors()[0].get("msg", "invalid geometry")
        reason = reason.removeprefix("Value error, ")
        raise ValidationFailed(name, f"{name}: feature {feature['id']}: {reason}") from None


# --- buildings and levels ------------------------------------------------------------------


def _building_names(features: list[dict[str, Any]]) -> dict[str, str | None]:
    return {f["id"]: label_of(f["properties"].get("name")) for f in features}


@dataclass(frozen=True, slots=True)
class _Level:
    id: str
    building_id: str
    name: str
    ordinal: int
    geometry: dict[str, Any]


def _levels(
    file_name: str,
    features: list[dict[str, Any]],
    buildings: dict[str, str | None],
    skipped: list[str],
) -> dict[str, _Level | None]:
    """Level id -> level (None: skipped, its units go with it). Adds unknown buildings."""
    levels: dict[str, _Level | None] = {}
    for feature in features:
        ident, properties = feature["id"], feature["properties"]
        ordinal = properties.get("ordinal")
        if isinstance(ordinal, float) and ordinal.is_integer():
            ordinal = int(ordinal)
        if not isinstance(ordinal, int) or isinstance(ordinal, bool) or not -10 <= ordinal <= 200:
            raise ValidationFailed(
                file_name,
                f"{file_name}: feature {ident}: ordinal must be an integer from -10 to 200",
            )
        geometry = _polygon(file_name, feature)
        building_ids = [b for b in properties.get("building_ids") or [] if isinstance(b, str)]
        if not building_ids:
            skipped.append(f"{file_name}: feature {ident}: an outdoor level (no building), skipped")
            levels[ident] = None
            continue
        if len(building_ids) > 1:
            skipped.append(
                f"{file_name}: feature {ident}: spans {len(building_ids)} buildings, "
                f"kept in the first ({building_ids[0]})"
            )
        for building_id in building_ids:
            buildings.setdefault(building_id, None)  # a level may name a building not listed
        label = (
            label_of(properties.get("name"))
            or label_of(properties.get("short_name"))
            or f"Level {ordinal}"
        )
        levels[ident] = _Level(ident, building_ids[0], label[:NAME_MAX], ordinal, geometry)
    return levels


# --- units ---------------------------------------------------------------------------------


def _units(
    file_name: str,
    features: list[dict[str, Any]],
    levels: dict[str, _Level | None],
    ids: _Ids,
    skipped: list[str],
) -> dict[str, list[Room]]:
    rooms: dict[str, list[Room]] = {}
    unnamed = _UnnamedRooms(label_of(f["properties"].get("name")) for f in features)
    numbers: Counter[str] = Counter()
    for feature in features:
        ident, properties = feature["id"], feature["properties"]
        level_id = properties.get("level_id")
        if level_id not in levels:
            raise ValidationFailed(
                file_name, f"{file_name}: feature {ident}: level_id {level_id!r} points nowhere"
            )
        if feature.get("geometry") is None:
            skipped.append(f"{file_name}: feature {ident}: no geometry, nothing to draw")
            continue
        geometry = _polygon(file_name, feature)
        level = levels[level_id]
        if level is None:
            skipped.append(f"{file_name}: feature {ident}: on an outdoor level, skipped")
            continue
        category = str(properties.get("category") or "unspecified")
        base = category.split(".", 1)[0]
        name = label_of(properties.get("name")) or unnamed.name(base)
        number = _number(label_of(properties.get("alt_name")), name)
        numbers[number] += 1
        if numbers[number] > 1:
            number = f"{number[: NUMBER_MAX - 4]}-{numbers[number]}"
        room = Room(
            id=ids.of(ident, "u"),
            number=number,
            name=name[:NAME_MAX],
            type=ROOM_TYPE_OF_CATEGORY.get(base, RoomType.OTHER),
            geometry=geometry,
        )
        rooms.setdefault(level_id, []).append(room)
    return rooms


class _UnnamedRooms:
    """Names for units without one: the category and a number ("Classroom 3"), never the name
    of another unit of the archive (a dispatcher must not see two rooms called "Classroom 206")."""

    def __init__(self, names: Iterable[str | None]) -> None:
        self._taken = {name.casefold() for name in names if name is not None}
        self._counts: Counter[str] = Counter()

    def name(self, category: str) -> str:
        while True:
            self._counts[category] += 1
            candidate = f"{category.capitalize()} {self._counts[category]}"
            if candidate.casefold() not in self._taken:
                self._taken.add(candidate.casefold())
                return candidate


def _number(alt_name: str | None, name: str) -> str:
    """A short room number: the alt name, else the name if short, else its start."""
    for candidate in (alt_name, name):
        if candidate and len(candidate) <= NUMBER_MAX:
            return candidate
    return name[:NUMBER_MAX].strip()


# --- ids -----------------------------------------------------------------------------------


def _known_ids(existing: School | None, imdf_id: Callable[[str], str]) -> dict[str, str]:
    """IMDF id -> alertd id of everything the school has (what an export of it would say)."""
    if existing is None:
        return {}
    known: dict[str, str] = {}
    for building in existing.buildings:
        known[imdf_id(building.id)] = building.id
        for floor in building.floors:
            known[imdf_id(floor.id)] = floor.id
            known.update((imdf_id(room.id), room.id) for room in floor.rooms)
    return known


class _Ids:
    """alertd ids for IMDF ids: the school's own where the feature came from it, else
    `<school>-<kind>-<hash>`, stable for the same IMDF id."""

    def __init__(self, school_id: str, known: dict[str, str]) -> None:
        self._school_id = school_id
        self._known = known

    def of(self, imdf: str, kind: str) -> str:
        if imdf in self._known:
            return self._known[imdf]
        digest = hashlib.sha256(imdf.encode()).hexdigest()[:12]
        prefix = self._school_id[: ID_MAX - len(digest) - len(kind) - 2]
        return f"{prefix}-{kind}-{digest}"
