"""The IMDF rules an archive must meet (OGC 20-094 / Apple's IMDF 1.0), checked in tests.

Not a full validator: the structure and references that a consumer relies on: the required
files, FeatureCollections of features with UUID ids and the right feature_type, each type's
required properties, geometry types, closed rings, labels as language maps, and every
reference (address_id, building_ids, level_id) resolving.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from io import BytesIO
from typing import Any

REQUIRED = (
    "manifest.json",
    "address.geojson",
    "venue.geojson",
    "building.geojson",
    "footprint.geojson",
    "level.geojson",
    "unit.geojson",
)
PROPERTIES = {
    "address": {"address", "unit", "locality", "province", "country", "postal_code"},
    "venue": {
        "category",
        "restriction",
        "name",
        "alt_name",
        "hours",
        "phone",
        "website",
        "display_point",
        "address_id",
    },
    "building": {"name", "alt_name", "category", "restriction", "display_point", "address_id"},
    "footprint": {"category", "name", "building_ids"},
    "level": {
        "category",
        "restriction",
        "ordinal",
        "outdoor",
        "name",
        "short_name",
        "display_point",
        "address_id",
        "building_ids",
    },
    "unit": {
        "category",
        "restriction",
        "accessibility",
        "name",
        "alt_name",
        "display_point",
        "level_id",
    },
}
GEOMETRY = {
    "address": {None},
    "venue": {"Polygon", "MultiPolygon"},
    "building": {None},
    "footprint": {"Polygon", "MultiPolygon"},
    "level": {"Polygon", "MultiPolygon"},
    "unit": {"Polygon", "MultiPolygon"},
}
LABELS = {"name", "alt_name", "short_name"}


def problems_of(archive: bytes) -> list[str]:
    """Every rule the zip breaks; [] if none."""
    found: list[str] = []
    with zipfile.ZipFile(BytesIO(archive)) as zipped:
        files = {name: json.loads(zipped.read(name)) for name in zipped.namelist()}
    found += [f"{name} missing" for name in REQUIRED if name not in files]
    manifest = files.get("manifest.json", {})
    for key in ("version", "created", "language"):
        if not manifest.get(key):
            found.append(f"manifest.json: {key} missing")
    ids: dict[str, set[str]] = {}
    features: list[dict[str, Any]] = []
    for name, document in files.items():
        if name == "manifest.json":
            continue
        feature_type = name.removesuffix(".geojson")
        if document.get("type") != "FeatureCollection":
            found.append(f"{name}: not a FeatureCollection")
            continue
        for feature in document["features"]:
            features.append(feature)
            found += _feature_problems(name, feature_type, feature)
            ids.setdefault(feature_type, set()).add(feature["id"])
    for feature in features:
        properties = feature["properties"]
        refs = {"address_id": "address", "level_id": "level"}
        for key, target in refs.items():
            value = properties.get(key)
            if value is not None and value not in ids.get(target, set()):
                found.append(f"{feature['id']}: {key} {value} points nowhere")
        for value in properties.get("building_ids") or []:
            if value not in ids.get("building", set()):
                found.append(f"{feature['id']}: building_ids {value} points nowhere")
    if len(ids.get("venue", ())) != 1:
        found.append("an archive has exactly one venue")
    return found


def _feature_problems(name: str, feature_type: str, feature: dict[str, Any]) -> list[str]:
    where = f"{name}: {feature.get('id')}"
    found = []
    try:
        uuid.UUID(str(feature.get("id")))
    except ValueError:
        found.append(f"{where}: id is not a UUID")
    if feature.get("type") != "Feature" or feature.get("feature_type") != feature_type:
        found.append(f"{where}: not a {feature_type} Feature")
    missing = PROPERTIES[feature_type] - set(feature.get("properties", {}))
    if missing:
        found.append(f"{where}: properties missing: {sorted(missing)}")
    geometry = feature.get("geometry")
    kind = geometry["type"] if geometry else None
    if kind not in GEOMETRY[feature_type]:
        found.append(f"{where}: geometry {kind} not allowed")
    if geometry:
        polygons = [geometry["coordinates"]] if kind == "Polygon" else geometry["coordinates"]
        for ring in (r for p in polygons for r in p):
            if len(ring) < 4 or ring[0] != ring[-1]:
                found.append(f"{where}: a ring is not closed")
    for key in LABELS & set(feature.get("properties", {})):
        value = feature["properties"][key]
        if value is not None and not (isinstance(value, dict) and value):
            found.append(f"{where}: {key} is not a language map")
    point = feature.get("properties", {}).get("display_point")
    if feature_type in ("venue", "unit") and not (point and point.get("type") == "Point"):
        found.append(f"{where}: display_point missing")
    return found
