"""Generate the alertd demo site document (``alertd/demo/demo_district.json``).

The demo describes a fictional district, "Riverside Unified School District",
with two schools:

* ``lincoln-hs`` - Lincoln High School: a three-floor "Main Building" and a
  two-floor "Gym & Arts Building".
* ``jefferson-es`` - Jefferson Elementary School: one single-floor building,
  about 2 km north-east of Lincoln.

Geometry is GeoJSON in WGS84 ``[longitude, latitude]`` order (the IMDF
convention). Every building is laid out the same way in local metres: two rows
of rooms (north and south) on either side of a central east-west corridor,
inside a rectangular footprint with a 1 m wall margin. Local metres are then
converted to degrees around a made-up site at lon -93.2650, lat 44.9778 and
rounded to 7 decimals. Rings are closed and counter-clockwise (RFC 7946).

All phone numbers are in the fictional 555-01xx range. The output is fully
deterministic (no randomness, no timestamps). Before writing, the script
asserts: unique lowercase ids, closed CCW rings, rooms strictly inside their
floor outline, no overlapping rooms on a floor, and the required room counts.

Usage: python scripts/make_demo_district.py
"""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent.parent / "alertd" / "demo" / "demo_district.json"

SITE_LON, SITE_LAT = -93.2650, 44.9778
M_PER_DEG_LAT = 111_132.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(SITE_LAT))
MARGIN_M = 1.0  # wall margin between the footprint and the rooms
CORRIDOR_M = 3.0  # depth of the central corridor
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
ROOM_TYPES = {
    "classroom",
    "lab",
    "office",
    "gym",
    "cafeteria",
    "library",
    "auditorium",
    "restroom",
    "corridor",
    "stairwell",
    "nurse",
    "storage",
    "other",
}

Json = dict[str, Any]
# A room spec is (name, type, width in slots); "{n}" in the name becomes the room number.
RoomSpec = tuple[str, str, int]
Row = list[RoomSpec]

STAIR_A: RoomSpec = ("Stairwell A", "stairwell", 1)
STAIR_B: RoomSpec = ("Stairwell B", "stairwell", 1)
GIRLS: RoomSpec = ("Restroom \u2013 Girls", "restroom", 1)
BOYS: RoomSpec = ("Restroom \u2013 Boys", "restroom", 1)


def room(subject: str, kind: str = "classroom", slots: int = 1) -> RoomSpec:
    """A numbered teaching room, e.g. 'Room 104 – English'."""
    return (f"Room {{n}} \u2013 {subject}", kind, slots)


# Each floor is (north row, south row), listed west to east.
LINCOLN_MAIN: list[tuple[Row, Row]] = [
    (
        [
            STAIR_A,
            ("Main Office", "office", 1),
            ("Nurse", "nurse", 1),
            ("Counseling Office", "office", 1),
            room("English"),
            room("English"),
            GIRLS,
            STAIR_B,
        ],
        [
            ("Library", "library", 2),
            room("History"),
            room("History"),
            room("Math"),
            room("Math"),
            BOYS,
            ("Custodial Storage", "storage", 1),
        ],
    ),
    (
        [
            STAIR_A,
            room("Math"),
            room("Spanish"),
            room("French"),
            ("Teachers' Workroom", "office", 1),
            room("Health"),
            GIRLS,
            STAIR_B,
        ],
        [
            ("Biology Lab", "lab", 1),
            ("Chemistry Lab", "lab", 1),
            ("Physics Lab", "lab", 1),
            room("Science"),
            room("Science"),
            room("English"),
            BOYS,
            ("Supply Storage", "storage", 1),
        ],
    ),
    (
        [
            STAIR_A,
            room("English"),
            room("English"),
            room("Social Studies"),
            room("Social Studies"),
            room("Economics"),
            GIRLS,
            STAIR_B,
        ],
        [
            ("Computer Lab", "lab", 1),
            room("Computer Science", "lab"),
            room("Math"),
            room("Math"),
            room("Special Education"),
            ("Assistant Principal's Office", "office", 1),
            BOYS,
            ("Records Storage", "storage", 1),
        ],
    ),
]
LINCOLN_GYM: list[tuple[Row, Row]] = [
    (
        [
            ("Gymnasium", "gym", 4),
            ("Locker Room \u2013 Boys", "other", 1),
            ("Locker Room \u2013 Girls", "other", 1),
            ("Athletics Office", "office", 1),
            STAIR_A,
        ],
        [("Auditorium", "auditorium", 3), ("Cafeteria", "cafeteria", 3), GIRLS, BOYS],
    ),
    (
        [
            room("Art", slots=2),
            room("Ceramics", "lab"),
            ("Weight Room", "gym", 2),
            ("Equipment Storage", "storage", 1),
            GIRLS,
            STAIR_A,
        ],
        [
            room("Band", slots=2),
            room("Choir", slots=2),
            room("Drama"),
            ("Fine Arts Office", "office", 1),
            ("Instrument Storage", "storage", 1),
            BOYS,
        ],
    ),
]
JEFFERSON_MAIN: list[tuple[Row, Row]] = [
    (
        [
            ("Main Office", "office", 1),
            ("Nurse", "nurse", 1),
            room("Kindergarten"),
            room("Kindergarten"),
            room("Grade 1"),
            room("Grade 1"),
            GIRLS,
        ],
        [
            room("Grade 2"),
            room("Grade 3"),
            room("Grade 4"),
            room("Grade 5"),
            ("Library", "library", 1),
            ("Cafeteria", "cafeteria", 1),
            BOYS,
        ],
    ),
]


def to_lonlat(x: float, y: float, origin: tuple[float, float]) -> list[float]:
    """Convert local metres (east, north) from an origin in metres to [lon, lat]."""
    lon = SITE_LON + (origin[0] + x) / M_PER_DEG_LON
    lat = SITE_LAT + (origin[1] + y) / M_PER_DEG_LAT
    return [round(lon, 7), round(lat, 7)]


def rect(x0: float, y0: float, x1: float, y1: float, origin: tuple[float, float]) -> Json:
    """A closed, counter-clockwise GeoJSON Polygon for an axis-aligned rectangle."""
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return {"type": "Polygon", "coordinates": [[to_lonlat(x, y, origin) for x, y in corners]]}


def make_building(
    school_id: str,
    letter: str,
    name: str,
    prefix: str,
    floors: list[tuple[Row, Row]],
    origin: tuple[float, float],
    slot_m: float,
    row_m: float,
) -> Json:
    """Lay out a building: every floor shares one footprint; rooms in two rows around a corridor."""
    building_id = f"{school_id}-{letter}"
    slots = max(sum(spec[2] for spec in row) for pair in floors for row in pair)
    width = 2 * MARGIN_M + slots * slot_m
    depth = 2 * MARGIN_M + 2 * row_m + CORRIDOR_M
    south_y, north_y = MARGIN_M, MARGIN_M + row_m + CORRIDOR_M  # bottom edge of each row
    out_floors = []
    for index, (north, south) in enumerate(floors):
        level = index + 1
        rooms: list[Json] = []

        def add(number: str, spec: RoomSpec, box: tuple[float, float, float, float]) -> None:
            label, kind, _ = spec
            rooms.append(  # noqa: B023 - called only within this iteration
                {
                    "id": f"{building_id}-{number.lower()}",
                    "number": number,
                    "name": label.replace("{n}", number),
                    "type": kind,
                    "geometry": rect(*box, origin),
                }
            )

        corridor_box = (MARGIN_M, MARGIN_M + row_m, width - MARGIN_M, MARGIN_M + row_m + CORRIDOR_M)
        add(f"{prefix}{level}00", (f"Corridor, Floor {level}", "corridor", slots), corridor_box)
        # North row takes odd numbers, south row even numbers, both west to east.
        for row, y0, first in ((north, north_y, 1), (south, south_y, 2)):
            x = MARGIN_M
            for offset, spec in enumerate(row):
                x_end = x + spec[2] * slot_m
                add(f"{prefix}{level}{first + 2 * offset:02d}", spec, (x, y0, x_end, y0 + row_m))
                x = x_end
        out_floors.append(
            {
                "id": f"{building_id}-{level}",
                "name": f"Floor {level}",
                "ordinal": index,
                "outline": rect(0.0, 0.0, width, depth, origin),
                "rooms": rooms,
            }
        )
    return {"id": building_id, "name": name, "floors": out_floors}


def add_cameras(floor: Json) -> None:
    """Two corridor cameras on a floor, each covering the corridor's half and the rooms
    along it (positions only: video sources come with the cameras work)."""
    rooms = {r["id"]: r for r in floor["rooms"]}
    corridor = next(r for r in floor["rooms"] if r["type"] == "corridor")
    x0, y0, x1, y1 = bounds(ring_of(corridor["geometry"]))
    middle = (x0 + x1) / 2
    for index, (name, lo, hi) in enumerate(
        (("West corridor", x0, middle), ("East corridor", middle, x1)), start=1
    ):
        covered = [corridor["id"]] + [
            room_id
            for room_id, r in rooms.items()
            if r["type"] != "corridor" and lo <= sum(bounds(ring_of(r["geometry"]))[0::2]) / 2 < hi
        ]
        floor.setdefault("cameras", []).append(
            {
                "id": f"{floor['id']}-cam-{index}",
                "name": f"{name} camera, {floor['name']}",
                "position": [round((lo + hi) / 2, 7), round((y0 + y1) / 2, 7)],
                "room_ids": covered,
            }
        )


def build_document() -> Json:
    """Assemble the whole site document."""
    lincoln_a = make_building(
        "lincoln-hs",
        "a",
        "Main Building",
        "",
        LINCOLN_MAIN,
        origin=(-38.0, -30.0),
        slot_m=9.0,
        row_m=8.0,
    )
    lincoln_b = make_building(
        "lincoln-hs",
        "b",
        "Gym & Arts Building",
        "G",
        LINCOLN_GYM,
        origin=(-38.0, 5.0),
        slot_m=9.0,
        row_m=12.0,
    )
    jefferson_a = make_building(
        "jefferson-es",
        "a",
        "Main Building",
        "",
        JEFFERSON_MAIN,
        origin=(1415.0, 1410.0),
        slot_m=9.0,
        row_m=8.0,
    )  # ~2 km NE
    add_cameras(lincoln_a["floors"][0])
    both = ["lincoln-hs", "jefferson-es"]
    return {
        "version": 1,
        "district": {"id": "riverside-usd", "name": "Riverside Unified School District"},
        "agencies": [
            {
                "id": "riverside-pd",
                "name": "Riverside Police Department",
                "kind": "law_enforcement",
                "sms": "+15555550100",
                "schools": both,
            },
            {
                "id": "riverside-fd",
                "name": "Riverside Fire & EMS",
                "kind": "fire_ems",
                "sms": "+15555550101",
                "schools": both,
            },
            {
                # Reached only when nobody acknowledges (the default escalation's last step).
                "id": "riverside-usd-security",
                "name": "District Security Chief",
                "kind": "district_security",
                "sms": "+15555550103",
                "schools": both,
                "backup": True,
            },
        ],
        "schools": [
            {
                "id": "lincoln-hs",
                "name": "Lincoln High School",
                "timezone": "America/Chicago",
                "address": "1200 Lincoln Ave, Riverside",
                "contacts": [
                    {
                        "id": "lincoln-hs-sro-1",
                        "name": "Officer Maria Garcia",
                        "role": "sro",
                        "sms": "+15555550111",
                        "test_contact": True,
                    },
                    {
                        "id": "lincoln-hs-sro-2",
                        "name": "Officer James Chen",
                        "role": "sro",
                        "sms": "+15555550112",
                        "test_contact": True,
                    },
                    {
                        "id": "lincoln-hs-principal",
                        "name": "Dr. Angela Brooks",
                        "role": "school_admin",
                        "sms": "+15555550113",
                        "test_contact": True,
                    },
                ],
                "buildings": [lincoln_a, lincoln_b],
            },
            {
                "id": "jefferson-es",
                "name": "Jefferson Elementary School",
                "timezone": "America/Chicago",
                "address": "450 Jefferson St, Riverside",
                "contacts": [
                    {
                        "id": "jefferson-es-sro-1",
                        "name": "Officer David Okafor",
                        "role": "sro",
                        "sms": "+15555550121",
                        "test_contact": True,
                    },
                    {
                        "id": "jefferson-es-sro-2",
                        "name": "Officer Lisa Novak",
                        "role": "sro",
                        "sms": "+15555550122",
                        "test_contact": True,
                    },
                    {
                        "id": "jefferson-es-principal",
                        "name": "Mr. Robert Kim",
                        "role": "school_admin",
                        "sms": "+15555550123",
                        "test_contact": True,
                    },
                ],
                "buildings": [jefferson_a],
            },
        ],
    }


def ring_of(polygon: Json) -> list[list[float]]:
    """Return the outer ring of a Polygon after checking it is closed and CCW."""
    assert polygon["type"] == "Polygon" and len(polygon["coordinates"]) == 1
    ring = polygon["coordinates"][0]
    assert len(ring) >= 4 and ring[0] == ring[-1], "ring not closed"
    signed_area = sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring)) / 2
    assert signed_area > 0, "ring not counter-clockwise"
    return ring


def bounds(ring: list[list[float]]) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a ring."""
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    return min(lons), min(lats), max(lons), max(lats)


def is_rectangle(ring: list[list[float]]) -> bool:
    """True when every vertex of the ring lies on a corner of its bounding box."""
    x0, y0, x1, y1 = bounds(ring)
    return len(ring) == 5 and all(p[0] in (x0, x1) and p[1] in (y0, y1) for p in ring)


def collect_ids(node: Any, found: list[str]) -> None:
    """Recursively gather every "id" value in the document."""
    if isinstance(node, dict):
        if "id" in node:
            found.append(node["id"])
        for value in node.values():
            collect_ids(value, found)
    elif isinstance(node, list):
        for item in node:
            collect_ids(item, found)


def verify(doc: Json) -> dict[str, int]:
    """Assert every invariant of the demo document; return counts for the summary."""
    ids: list[str] = []
    collect_ids(doc, ids)
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert all(ID_RE.match(i) for i in ids), "id not lowercase [a-z0-9-]"
    phones = [a["sms"] for a in doc["agencies"]] + [
        c["sms"] for s in doc["schools"] for c in s["contacts"]
    ]
    assert len(phones) == len(set(phones)), "duplicate phone numbers"
    assert all(re.fullmatch(r"\+155555501\d\d", p) for p in phones), "phone outside 555-01xx"
    counts = {"schools": len(doc["schools"]), "buildings": 0, "floors": 0, "rooms": 0}
    per_school: dict[str, int] = {}
    for school in doc["schools"]:
        per_school[school["id"]] = 0
        for building in school["buildings"]:
            counts["buildings"] += 1
            for floor in building["floors"]:
                counts["floors"] += 1
                outline = ring_of(floor["outline"])
                assert is_rectangle(outline), "outline must be an axis-aligned rectangle"
                ox0, oy0, ox1, oy1 = bounds(outline)
                boxes = []
                for r in floor["rooms"]:
                    assert r["type"] in ROOM_TYPES, r["type"]
                    ring = ring_of(r["geometry"])
                    assert is_rectangle(ring), f"{r['id']} not a rectangle"
                    x0, y0, x1, y1 = bounds(ring)
                    assert ox0 < x0 < x1 < ox1 and oy0 < y0 < y1 < oy1, f"{r['id']} outside outline"
                    boxes.append((r["id"], x0, y0, x1, y1))
                for i, (a_id, ax0, ay0, ax1, ay1) in enumerate(boxes):
                    for b_id, bx0, by0, bx1, by1 in boxes[i + 1 :]:
                        overlap = min(ax1, bx1) > max(ax0, bx0) and min(ay1, by1) > max(ay0, by0)
                        assert not overlap, f"{a_id} overlaps {b_id}"
                counts["rooms"] += len(floor["rooms"])
                per_school[school["id"]] += len(floor["rooms"])
    lincoln = next(s for s in doc["schools"] if s["id"] == "lincoln-hs")
    assert [len(b["floors"]) for b in lincoln["buildings"]] == [3, 2]
    assert [f["ordinal"] for f in lincoln["buildings"][0]["floors"]] == [0, 1, 2]
    assert per_school["lincoln-hs"] >= 48, per_school
    assert 12 <= per_school["jefferson-es"] <= 16, per_school
    return counts


def main() -> None:
    doc = build_document()
    counts = verify(doc)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(
        json.dumps(doc, indent=1, sort_keys=False, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(
        f"wrote {OUTPUT.name}: {counts['schools']} schools, {counts['buildings']} buildings, "
        f"{counts['floors']} floors, {counts['rooms']} rooms"
    )


if __name__ == "__main__":
    main()
