"""IMDF in and out: real archives of different origins import with their untidy parts handled,
broken ones are refused whole, and an export is a valid archive that imports again to the same
rooms."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from imdf_rules import problems_of

from alertd.adapters.imdf.archive import read_archive
from alertd.adapters.imdf.reader import ImdfPlan, read_imdf
from alertd.adapters.imdf.writer import imdf_id
from alertd.cli import main as cli
from alertd.core.errors import ValidationFailed
from alertd.core.operator import OPERATOR
from alertd.core.site import ReplaceFloorPlans, School
from alertd.testing.auth import headers_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imdf"
LINCOLN = "lincoln-hs"


@dataclass(frozen=True, slots=True)
class RealArchive:
    """A real archive in tests/fixtures/imdf/ (see its README) and what an import must give."""

    folder: str
    unit_file: str  # the units' file as the archive names it
    counts: dict[str, int]
    floors: dict[str, list[tuple[str, int, int]]]  # building -> [(floor, ordinal, rooms)]
    types: dict[str, int]  # room type -> rooms
    unnamed: dict[str, int]  # units without a name, by the category their name is made from
    holed_floors: int  # floors whose outline has an inner ring (a courtyard)
    skipped: tuple[str, ...]  # lines the report must hold
    # How the archive was zipped where it was published (a folder, or a Mac's whole path).
    zip_folder: str

    @property
    def path(self) -> Path:
        return FIXTURES / self.folder

    def units(self) -> list[dict[str, Any]]:
        features: list[dict[str, Any]] = json.loads(
            (self.path / self.unit_file).read_text("utf-8")
        )["features"]
        return features


POLYMAP = RealArchive(
    folder="spbstu-polymap",
    unit_file="unit.geojson",
    counts={"buildings": 2, "levels": 8, "units": 443},
    # The same floor name at different ordinals in the two buildings; both are kept.
    floors={
        "Main academic building": [("Level 1", 0, 118), ("Level 2", 1, 122), ("Level 3", 2, 34)],
        "Academic building №3": [
            ("Level 1", 1, 50),
            ("Level 2", 2, 40),
            ("Level 3", 3, 32),
            ("Level 4", 4, 21),
            ("Level 5", 5, 26),
        ],
    },
    types={
        "classroom": 234,
        "auditorium": 77,
        "stairwell": 64,  # stairs and lifts
        "corridor": 29,  # walkways
        "restroom": 20,
        "lab": 6,
        "other": 6,  # shops, wardrobes, security, a plain room
        "office": 4,
        "cafeteria": 2,
        "library": 1,
    },
    unnamed={
        "Stairs": 59,
        "Classroom": 35,
        "Walkway": 29,
        "Auditorium": 13,
        "Elevator": 5,
        "Room": 1,
    },
    holed_floors=4,
    skipped=(
        "enviromentAmenity.geojson: not used",  # not an IMDF file
        "building.geojson: feature d46d5b2d-ff3d-467c-86a1-97cbb121d875: Building 3 has no levels",
        "building.geojson: feature ca6fab46-929e-4115-ac11-aac99d66ebb2: Building 4 has no levels",
    ),
    zip_folder="IMDFData/",
)
ULM = RealArchive(
    folder="osmtoimdf-uulm",
    unit_file="unit.json",  # osmtoimdf names its files *.json
    counts={"buildings": 1, "levels": 6, "units": 554},
    floors={
        "Venticer World": [
            ("EG", 0, 27),
            ("1. OG", 1, 150),
            ("2. OG", 2, 120),
            ("3. OG", 3, 92),
            ("4. OG", 4, 89),
            ("5. OG", 5, 76),
        ]
    },
    types={"other": 394, "stairwell": 83, "corridor": 51, "restroom": 26},
    unnamed={"Room": 175, "Walkway": 32},
    holed_floors=3,
    skipped=(
        "address.json: not used",
        "footprint.json: not used",
        "building.json: feature 200bbf42-43f7-455a-b0d5-88fcaa44674f: O27 has no levels",
        "building.json: feature c000aaf3-181b-4c6b-8fd2-054bb64cf9f1: N25 has no levels",
    ),
    zip_folder="Volumes/Macintosh HD/Users/ezekills/Desktop/osmtoimdf/IMDFData/",
)
REAL = [pytest.param(archive, id=archive.folder) for archive in (POLYMAP, ULM)]


def read(path: Path, school_id: str, existing: School | None = None) -> ImdfPlan:
    return read_imdf(read_archive(path), school_id=school_id, existing=existing, imdf_id=imdf_id)


async def save(app: FastAPI, plan: ImdfPlan, school_id: str, name: str = "Imported") -> School:
    command = ReplaceFloorPlans(school_id, name, plan.buildings, district_id="riverside-usd")
    return await app.state.context.sites.replace_floor_plans(command, principal=OPERATOR)


def rooms_of(tree: dict[str, Any]) -> Counter[str]:
    """Each room as what a person sees of it: floor, number, name, type and shape."""
    return Counter(
        json.dumps([f["name"], r["number"], r["name"], r["type"], r["geometry"]], sort_keys=True)
        for b in tree["buildings"]
        for f in b["floors"]
        for r in f["rooms"]
    )


async def assert_export_imports_to_the_same_rooms(
    app: FastAPI, client: httpx.AsyncClient, school_id: str, tmp_path: Path
) -> None:
    """The school's export is valid IMDF; imported into the same school it keeps every room id
    (alerts keep pointing at their rooms), into a new school it gives the same rooms."""
    answer = await client.get(f"/v1/schools/{school_id}/imdf")
    assert answer.headers["content-type"] == "application/zip"
    assert problems_of(answer.content) == []
    exported = tmp_path / f"{school_id}.zip"
    exported.write_bytes(answer.content)
    school = await app.state.context.store.school(school_id)
    again = read(exported, school_id, existing=school)
    assert sorted(r.id for b in again.buildings for f in b.floors for r in f.rooms) == sorted(
        r.id for _b, _f, r in school.places()
    )
    await save(app, read(exported, f"{school_id}-copy"), f"{school_id}-copy")
    copy = (await client.get(f"/v1/schools/{school_id}-copy")).json()
    assert rooms_of(copy) == rooms_of((await client.get(f"/v1/schools/{school_id}")).json())


@pytest.mark.parametrize("archive", REAL)
async def test_a_real_archive_imports_with_its_untidy_parts_handled(
    app: FastAPI, client: httpx.AsyncClient, archive: RealArchive
) -> None:
    plan = read(archive.path, "real")
    assert plan.counts == archive.counts
    for line in archive.skipped:
        assert any(skipped.startswith(line) for skipped in plan.skipped), line
    await save(app, plan, "real", "Real")
    tree = (await client.get("/v1/schools/real")).json()
    floors = {
        b["name"]: [(f["name"], f["ordinal"], len(f["rooms"])) for f in b["floors"]]
        for b in tree["buildings"]
    }
    assert floors == archive.floors  # language maps give their English name
    rooms = [r for b in tree["buildings"] for f in b["floors"] for r in f["rooms"]]
    assert Counter(r["type"] for r in rooms) == archive.types  # walkways and stairs drawn too
    assert len({r["number"] for r in rooms}) == len(rooms), "numbers tell rooms apart"
    names = [r["name"] for r in rooms]
    labels = {
        text.strip() for u in archive.units() for text in (u["properties"]["name"] or {}).values()
    }
    english = {
        u["properties"]["name"]["en"].strip() for u in archive.units() if u["properties"]["name"]
    }
    assert not set(names) & (labels - english), "English wins over the other languages"
    made_up = [name for name in names if name not in labels]
    assert Counter(name.rsplit(" ", 1)[0] for name in made_up) == archive.unnamed
    assert len(set(made_up)) == len(made_up), "an unnamed unit's name is its own"
    holed = [
        f for b in tree["buildings"] for f in b["floors"] if len(f["outline"]["coordinates"]) > 1
    ]
    assert len(holed) == archive.holed_floors


@pytest.mark.parametrize("archive", REAL)
async def test_a_real_archive_survives_export_and_import_again(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, archive: RealArchive
) -> None:
    await save(app, read(archive.path, "real"), "real", "Real")
    await assert_export_imports_to_the_same_rooms(app, client, "real", tmp_path)


def _break_level_id(document: dict[str, Any], victim: int) -> None:
    document["features"][victim]["properties"]["level_id"] = "nowhere"


def _open_a_ring(document: dict[str, Any], victim: int) -> None:
    document["features"][victim]["geometry"]["coordinates"][0].pop()


@pytest.mark.parametrize("archive", REAL)
@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (None, "not valid JSON"),
        (_break_level_id, "level_id 'nowhere' points nowhere"),
        (_open_a_ring, "must be closed"),
    ],
    ids=["bad-json", "level-id", "open-ring"],
)
async def test_a_broken_archive_is_refused_naming_the_file_and_feature_and_nothing_changes(
    app: FastAPI,
    client: httpx.AsyncClient,
    tmp_path: Path,
    archive: RealArchive,
    break_it: Any,
    expected: str,
) -> None:
    await save(app, read(archive.path, "real"), "real", "Real")
    before = (await client.get("/v1/schools/real")).json()
    broken = tmp_path / "broken"
    shutil.copytree(archive.path, broken)
    unit_file = broken / archive.unit_file
    text = unit_file.read_text("utf-8")
    document = json.loads(text)
    victim = document["features"][7]
    if break_it is None:
        text = text[:-10]  # cut off: a file that is not JSON has no feature to name
    else:
        break_it(document, 7)
        text = json.dumps(document)
    unit_file.write_text(text, "utf-8")
    with pytest.raises(ValidationFailed) as refused:
        await save(app, read(broken, "real"), "real")
    assert refused.value.message.startswith(f"{archive.unit_file}: ")
    assert expected in refused.value.message
    if break_it is not None:
        assert victim["id"] in refused.value.message
    assert (await client.get("/v1/schools/real")).json() == before


async def test_a_unit_drawn_in_several_parts_is_one_room_in_and_out(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """IMDF draws a unit in several parts as a MultiPolygon; none of the real archives has
    one, so two real rooms of one floor become one unit here."""
    archive = tmp_path / "parts"
    shutil.copytree(ULM.path, archive)
    document = json.loads((archive / ULM.unit_file).read_text("utf-8"))
    first, *rest = document["features"]
    second = next(u for u in rest if u["properties"]["level_id"] == first["properties"]["level_id"])
    parts = [first["geometry"]["coordinates"], second["geometry"]["coordinates"]]
    first["geometry"] = {"type": "MultiPolygon", "coordinates": parts}
    document["features"].remove(second)
    (archive / ULM.unit_file).write_text(json.dumps(document), "utf-8")
    await save(app, read(archive, "parts"), "parts")
    tree = (await client.get("/v1/schools/parts")).json()
    rooms = [r for b in tree["buildings"] for f in b["floors"] for r in f["rooms"]]
    assert len(rooms) == ULM.counts["units"] - 1
    assert [r["geometry"] for r in rooms if r["geometry"]["type"] == "MultiPolygon"] == [
        {"type": "MultiPolygon", "coordinates": parts}
    ]
    await assert_export_imports_to_the_same_rooms(app, client, "parts", tmp_path)


def test_geojson_files_win_over_json_files_of_the_same_feature_type(tmp_path: Path) -> None:
    archive = tmp_path / "both"
    shutil.copytree(ULM.path, archive)
    units = json.loads((archive / ULM.unit_file).read_text("utf-8"))
    units["features"] = units["features"][:10]
    (archive / "unit.geojson").write_text(json.dumps(units), "utf-8")
    plan = read(archive, "both")
    assert plan.counts["units"] == 10
    assert any(line.startswith("unit.json: not used") for line in plan.skipped)


async def test_the_export_of_a_school_drawn_here_is_valid_imdf_that_imports_to_the_same_rooms(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await assert_export_imports_to_the_same_rooms(app, client, LINCOLN, tmp_path)


@pytest.mark.parametrize("archive", REAL)
def test_the_command_imports_a_zip_as_published_and_refuses_a_broken_one(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    archive: RealArchive,
) -> None:
    monkeypatch.setenv("ALERTD_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ALERTD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTD_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("ALERTD_SECRET_KEY", "test-secret-key-not-for-production")
    zipped = tmp_path / "imdf.zip"
    with zipfile.ZipFile(zipped, "w") as published:
        published.writestr(archive.zip_folder, "")  # a folder entry, as zip tools write them
        published.writestr(f"{archive.zip_folder}.DS_Store", b"\0\0\0\1Bud1")
        for path in sorted(archive.path.iterdir()):
            published.write(path, f"{archive.zip_folder}{path.name}")
    args = ["site", "import-imdf", str(zipped), "--school-id", "real", "--school-name", "Real"]
    assert cli([*args, "--district-id", "spb"]) == 0
    counts = archive.counts
    assert (
        f"{counts['buildings']} buildings, {counts['levels']} levels, {counts['units']} units"
        in capsys.readouterr().out
    )
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as published:
        published.writestr("manifest.json", "{}")
    assert (
        cli(["site", "import-imdf", str(empty), "--school-id", "real", "--school-name", "X"]) == 1
    )
    assert "level.geojson, unit.geojson missing" in capsys.readouterr().err


def test_an_archive_in_memory_round_trips_through_zip() -> None:
    from alertd.adapters.imdf.archive import write_archive

    data = write_archive({"manifest.json": {"version": "1.0.0"}})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert json.loads(archive.read("manifest.json")) == {"version": "1.0.0"}


def zipped(folder: Path, *, leave_out: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name != leave_out:
                archive.write(path, path.name)
    return buffer.getvalue()


ZIP = {"Content-Type": "application/zip"}


async def test_an_admin_uploads_an_imdf_archive_over_http_and_it_is_audited(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.put(
        "/v1/schools/spbpu/imdf",
        params={"name": "SPbPU", "timezone": "Europe/Moscow"},
        content=zipped(POLYMAP.path),
        headers=ZIP,
    )
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert done["created"] is True
    assert done["name"] == "SPbPU"
    assert {k: done[k] for k in POLYMAP.counts} == POLYMAP.counts
    tree = (await client.get("/v1/schools/spbpu")).json()
    assert sum(len(f["rooms"]) for b in tree["buildings"] for f in b["floors"]) == 443
    again = await client.put("/v1/schools/spbpu/imdf", content=zipped(POLYMAP.path), headers=ZIP)
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert again.json()["name"] == "SPbPU"  # no name given: the school keeps its own
    assert rooms_of((await client.get("/v1/schools/spbpu")).json()) == rooms_of(tree)
    trail = (await client.get("/v1/audit", params={"school": "spbpu"})).json()["entries"]
    imports = [e for e in trail if e["action"] == "site.replace_floor_plans"]
    assert [e["detail"]["created"] for e in imports] == [True, False]
    assert imports[0]["detail"]["units"] == 443
    assert imports[0]["actor_id"] == "demo-district_admin"


@pytest.mark.parametrize(
    ("content", "params", "field", "message"),
    [
        (b"not a zip at all", {"name": "X"}, "archive", "not a zip archive"),
        ("no-units", {"name": "X"}, "archive", "unit.geojson missing"),
        ("whole", {}, "name", "a new school needs its name"),
    ],
    ids=["not-zip", "not-imdf", "no-name"],
)
async def test_a_bad_imdf_upload_names_its_field_and_changes_nothing(
    client: httpx.AsyncClient, content: Any, params: dict[str, str], field: str, message: str
) -> None:
    if content == "no-units":
        content = zipped(POLYMAP.path, leave_out="unit.geojson")
    elif content == "whole":
        content = zipped(POLYMAP.path)
    answer = await client.put(
        "/v1/schools/newschool/imdf", params=params, content=content, headers=ZIP
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert message in answer.json()["message"]
    assert (await client.get("/v1/schools/newschool")).status_code == 404


async def test_a_school_admin_imports_floor_plans_only_at_its_own_school(
    client: httpx.AsyncClient,
) -> None:
    principal = await headers_for(client, "school_admin")  # of lincoln-hs
    lincoln = (await client.get(f"/v1/schools/{LINCOLN}/imdf")).content
    own = await client.put(f"/v1/schools/{LINCOLN}/imdf", content=lincoln, headers=ZIP | principal)
    assert own.status_code == 200, own.text
    other = await client.put(
        "/v1/schools/jefferson-es/imdf", content=lincoln, headers=ZIP | principal
    )
    assert other.status_code == 403, other.text
    new = await client.put(
        "/v1/schools/elsewhere/imdf", params={"name": "E"}, content=lincoln, headers=ZIP | principal
    )
    assert new.status_code == 403, new.text
