"""IMDF in and out: real archives import, broken ones are refused whole, and an export is a
valid archive that imports again to the same rooms."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections import Counter
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

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imdf"
POLYMAP = FIXTURES / "spbstu-polymap"
LINCOLN = "lincoln-hs"


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


async def test_a_real_archive_imports_with_its_untidy_parts_handled(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    plan = read(POLYMAP, "spbpu")
    assert plan.counts == {"buildings": 2, "levels": 8, "units": 443}
    assert any("enviromentAmenity.geojson: not used" in line for line in plan.skipped)
    assert any("has no levels" in line for line in plan.skipped)
    await save(app, plan, "spbpu", "SPbPU")
    tree = (await client.get("/v1/schools/spbpu")).json()
    names = {b["name"]: b for b in tree["buildings"]}
    assert set(names) == {"Main academic building", "Academic building №3"}  # English wins
    # The same floor name sits at different ordinals in the two buildings; both are kept.
    first_floors = {
        n: [f["ordinal"] for f in b["floors"] if f["name"] == "Level 1"] for n, b in names.items()
    }
    assert first_floors == {"Main academic building": [0], "Academic building №3": [1]}
    rooms = [r for b in tree["buildings"] for f in b["floors"] for r in f["rooms"]]
    assert len(rooms) == 443
    types = Counter(r["type"] for r in rooms)
    assert types["corridor"] == 29 and types["stairwell"] == 64  # walkways, stairs, lifts
    unnamed = [r["name"] for r in rooms if r["name"].startswith("Classroom ")]
    assert unnamed, "units with a null name are named from their category and a number"


@pytest.mark.parametrize(
    ("file", "break_it", "expected"),
    [
        ("unit.geojson", lambda text, _f: text[:-10], "unit.geojson: not valid JSON"),
        ("unit.geojson", "level_id", "level_id 'nowhere' points nowhere"),
        ("unit.geojson", "ring", "must be closed"),
    ],
)
async def test_a_broken_archive_is_refused_naming_the_file_and_feature_and_nothing_changes(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, file: str, break_it: Any, expected: str
) -> None:
    await save(app, read(POLYMAP, "spbpu"), "spbpu", "SPbPU")
    before = (await client.get("/v1/schools/spbpu")).json()
    broken = tmp_path / "broken"
    shutil.copytree(POLYMAP, broken)
    text = (broken / file).read_text("utf-8")
    victim = json.loads(text)["features"][7]
    if break_it == "level_id":
        document = json.loads(text)
        document["features"][7]["properties"]["level_id"] = "nowhere"
        text = json.dumps(document)
    elif break_it == "ring":
        document = json.loads(text)
        document["features"][7]["geometry"]["coordinates"][0].pop()
        text = json.dumps(document)
    else:
        text = break_it(text, victim)
    (broken / file).write_text(text, "utf-8")
    with pytest.raises(ValidationFailed) as refused:
        await save(app, read(broken, "spbpu"), "spbpu")
    assert expected in refused.value.message
    assert refused.value.message.startswith(file)
    if not callable(break_it):  # a file that is not JSON has no feature to name
        assert victim["id"] in refused.value.message
    assert (await client.get("/v1/schools/spbpu")).json() == before


async def test_the_export_is_a_valid_imdf_archive_that_imports_to_the_same_rooms(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    answer = await client.get(f"/v1/schools/{LINCOLN}/imdf")
    assert answer.headers["content-type"] == "application/zip"
    assert problems_of(answer.content) == []
    archive = tmp_path / "lincoln.zip"
    archive.write_bytes(answer.content)
    lincoln = (await client.get(f"/v1/schools/{LINCOLN}")).json()
    school = await app.state.context.store.school(LINCOLN)
    again = read(archive, LINCOLN, existing=school)
    # Into the same school: every id comes back, so alerts keep pointing at their rooms.
    assert [r.id for _b, _f, r in school.places()] == sorted(
        (r.id for b in again.buildings for f in b.floors for r in f.rooms),
        key=[r.id for _b, _f, r in school.places()].index,
    )
    # Into a new school: the same rooms (floor, number, name, type, shape).
    await save(app, read(archive, "lincoln-copy"), "lincoln-copy")
    copy = (await client.get("/v1/schools/lincoln-copy")).json()
    assert rooms_of(copy) == rooms_of(lincoln)
    # And the import of an imported school exports valid IMDF too.
    await save(app, read(POLYMAP, "spbpu"), "spbpu")
    assert problems_of((await client.get("/v1/schools/spbpu/imdf")).content) == []


def test_the_command_imports_a_zip_and_refuses_a_broken_one(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ALERTD_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("ALERTD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ALERTD_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("ALERTD_SECRET_KEY", "test-secret-key-not-for-production")
    zipped = tmp_path / "polymap.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for path in POLYMAP.iterdir():
            archive.write(path, f"IMDFData/{path.name}")  # a zipped folder, as people make them
    args = ["site", "import-imdf", str(zipped), "--school-id", "spbpu", "--school-name", "SPbPU"]
    assert cli([*args, "--district-id", "spb"]) == 0
    assert "2 buildings, 8 levels, 443 units" in capsys.readouterr().out
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("manifest.json", "{}")
    assert (
        cli(["site", "import-imdf", str(empty), "--school-id", "spbpu", "--school-name", "X"]) == 1
    )
    assert "level.geojson, unit.geojson missing" in capsys.readouterr().err


def test_an_archive_in_memory_round_trips_through_zip() -> None:
    from alertd.adapters.imdf.archive import write_archive

    data = write_archive({"manifest.json": {"version": "1.0.0"}})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert json.loads(archive.read("manifest.json")) == {"version": "1.0.0"}
