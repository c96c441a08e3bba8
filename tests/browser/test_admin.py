"""The admin pages in a real browser, against a real alertd, with no internet: people, devices,
sites and the audit trail, as a school or district admin does them."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_pages import TABS, TIMEOUT_MS, AdminPage
from browser_harness import Api, ServedAlertd, run_axe, screenshot
from console_pages import ConsolePage
from playwright.sync_api import BrowserContext, expect

from alertd.main import demo_site
from alertd.testing.device import signed_headers

pytestmark = pytest.mark.xdist_group("browser")

LINCOLN = "lincoln-hs"
ROOM = "lincoln-hs-a-109"
POLYMAP = Path(__file__).resolve().parents[1] / "fixtures" / "imdf" / "spbstu-polymap"

Contexts = Callable[..., BrowserContext]


@pytest.fixture
def admin_page(alertd: ServedAlertd, new_context: Contexts) -> Callable[..., AdminPage]:
    def open_admin(role: str = "school_admin", **sign_in: Any) -> AdminPage:
        return AdminPage(new_context().new_page(), alertd.url).sign_in(role, **sign_in)

    return open_admin


def test_a_school_admin_adds_a_staff_member_who_signs_in_and_raises_an_alert(
    admin_page: Callable[..., AdminPage],
    alertd: ServedAlertd,
    new_context: Contexts,
    api: Api,
) -> None:
    admin = admin_page("school_admin")
    users = admin.open("users")
    form = admin.form("new-user")
    # A school admin of one school: its one school is chosen, and it grants no dispatchers.
    roles = form.locator("select[name=role] option").evaluate_all("o => o.map(x => x.value)")
    assert roles == ["staff", "sro", "drill_coordinator", "school_admin"]
    schools = form.locator("select[name=school_ids] option").evaluate_all(
        "o => o.map(x => [x.value, x.selected])"
    )
    assert schools == [[LINCOLN, True]]
    form.locator("input[name=name]").fill("Taylor Teacher")
    form.locator("input[name=email]").fill("taylor@lincoln.example")
    form.locator("input[name=password]").fill("short")  # the API refuses it, naming the field
    form.locator("button[type=submit]").click()
    password = form.locator("input[name=password]")
    expect(password).to_have_attribute("aria-invalid", "true", timeout=TIMEOUT_MS)
    expect(form.locator(".field-error").filter(has_text="password")).to_be_visible()
    password.fill("correct horse battery")
    form.locator("input[name=phone]").fill("+15555550177")
    form.locator("button[type=submit]").click()
    row = admin.user_row("taylor@lincoln.example")
    expect(row).to_contain_text("Staff", timeout=TIMEOUT_MS)
    expect(row).to_contain_text("Lincoln High School")
    expect(row).to_contain_text("+15555550177")
    expect(row).to_contain_text("Active")
    assert users.locator("tr[data-email='district_admin@demo.alertd']").count() == 0
    screenshot(admin.page, "admin-users")
    assert run_axe(admin.page, view="admin users") == []

    # The new person signs in to the console in their own browser and raises an alert there.
    staff = ConsolePage(new_context().new_page(), alertd.url)
    staff.page.goto(f"{alertd.url}/console/")
    staff.page.fill("#username", "taylor@lincoln.example")
    staff.page.fill("#password", "correct horse battery")
    staff.page.click("#signin button[type=submit]")
    staff.wait_live()
    expect(staff.page.locator("#admin-link")).to_be_hidden()
    raised = staff.page.evaluate(
        """async (room) => {
        const csrf = decodeURIComponent(document.cookie.match(/alertd_csrf=([^;]+)/)[1]);
        const answer = await fetch('/v1/alerts', {method: 'POST', credentials: 'same-origin',
          headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf,
                    'Idempotency-Key': crypto.randomUUID()},
          body: JSON.stringify({kind: 'medical', school_id: 'lincoln-hs', room_id: room})});
        return [answer.status, await answer.json()];
    }""",
        ROOM,
    )
    assert raised[0] == 201, raised
    staff.wait_for_alert(raised[1]["id"])
    detail = api.get(f"/v1/alerts/{raised[1]['id']}")
    assert detail["raised_by"]["name"] == "Taylor Teacher"

    # Their admin changes their role and phone; the form is the same, filled in.
    row.locator("button[data-action=edit]").click()
    edit = admin.form("edit-user")
    expect(edit.locator("input[name=name]")).to_have_value("Taylor Teacher")
    edit.locator("select[name=role]").select_option("sro")
    edit.locator("input[name=phone]").fill("555-0177")  # not E.164: refused at the field
    edit.locator("button[type=submit]").click()
    expect(edit.locator("input[name=phone]")).to_have_attribute(
        "aria-invalid", "true", timeout=TIMEOUT_MS
    )
    edit.locator("input[name=phone]").fill("+15555550178")
    edit.locator("button[type=submit]").click()
    expect(row).to_contain_text("SRO", timeout=TIMEOUT_MS)
    expect(row).to_contain_text("+15555550178")

    # Disabled, they are signed out: their next request is refused.
    row.locator("button[data-action=disable]").click()  # confirm() is accepted below
    expect(row).to_contain_text("Disabled", timeout=TIMEOUT_MS)
    answer = staff.page.evaluate("fetch('/v1/auth/me').then(a => a.status)")
    assert answer == 401


def test_a_dispatcher_sees_no_admin_pages(
    console: Callable[..., ConsolePage], admin_page: Callable[..., AdminPage]
) -> None:
    dispatcher = console("dispatcher")
    expect(dispatcher.page.locator("#admin-link")).to_be_hidden()
    admin = admin_page("dispatcher")
    expect(admin.page.locator("#refused-view")).to_be_visible(timeout=TIMEOUT_MS)
    expect(admin.page.locator("#admin-view")).to_be_hidden()
    assert admin.page.locator("#tab-users").inner_text() == ""
    district = console("district_admin")
    expect(district.page.locator("#admin-link")).to_be_visible()


def test_registering_a_device_shows_its_secret_once_and_the_device_then_signs_with_it(
    admin_page: Callable[..., AdminPage], alertd: ServedAlertd
) -> None:
    admin = admin_page("school_admin")
    admin.open("devices")
    form = admin.form("new-device")
    form.locator("input[name=name]").fill("Room 109 button")
    form.locator("input[name=id]").fill("btn-109")
    form.locator("select[name=room_id]").select_option(ROOM)
    form.locator("button[type=submit]").click()
    secret = admin.take_secret()
    assert len(secret) >= 32
    assert secret not in admin.page.content()  # gone from the page once closed
    row = admin.page.locator("#devices-list tr[data-device-id='btn-109']")
    expect(row).to_contain_text("Room 109")
    expect(row.locator("[data-field=last-seen]")).to_have_text("never")
    with httpx.Client(base_url=alertd.url) as http:
        listed = http.get("/v1/devices", params={"school": LINCOLN}, headers=admin_headers(admin))
        assert secret not in listed.text
        body = json.dumps({"kind": "staff_assist", "school_id": LINCOLN}).encode()
        headers = signed_headers("btn-109", secret, "POST", "/v1/alerts", body, datetime.now(UTC))
        headers |= {"Content-Type": "application/json", "Idempotency-Key": "press-1"}
        pressed = http.post("/v1/alerts", content=body, headers=headers)
        assert pressed.status_code == 201, pressed.text
        assert pressed.json()["room_id"] == ROOM
    admin.open("devices")
    expect(row.locator("[data-field=last-seen]")).not_to_have_text("never", timeout=TIMEOUT_MS)
    screenshot(admin.page, "admin-device-registered")
    row.locator("button[data-action=rotate]").click()
    rotated = admin.take_secret()
    assert rotated != secret
    # A wall button needs its room: the API's refusal shows at the room field.
    form.locator("input[name=name]").fill("Unbound button")
    form.locator("button[type=submit]").click()
    room = form.locator("select[name=room_id]")
    expect(room).to_have_attribute("aria-invalid", "true", timeout=TIMEOUT_MS)
    expect(form).to_contain_text("a wall button must be bound to a room")


def admin_headers(admin: AdminPage) -> dict[str, str]:
    """The admin's session cookie and CSRF token, for a request outside the page."""
    cookies = {c["name"]: c["value"] for c in admin.page.context.cookies()}
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


def test_a_site_document_uploads_and_a_bad_one_shows_the_apis_field_error(
    admin_page: Callable[..., AdminPage], api: Api, tmp_path: Path
) -> None:
    admin = admin_page("school_admin")
    admin.open("sites")
    document = demo_site().model_dump(mode="json")
    document["schools"] = [s for s in document["schools"] if s["id"] == LINCOLN]
    for agency in document["agencies"]:
        agency["schools"] = [LINCOLN]
    document["schools"][0]["name"] = "Lincoln High School (renamed)"
    good = tmp_path / "lincoln.json"
    good.write_text(json.dumps(document), "utf-8")
    form = admin.form("site-document")
    form.locator("input[name=document]").set_input_files(str(good))
    form.locator("button[type=submit]").click()
    expect(admin.page.locator("#upload-result")).to_contain_text(
        "Loaded lincoln.json: 1 school(s) (lincoln-hs)", timeout=TIMEOUT_MS
    )
    expect(admin.page.locator(f"#schools-list tr[data-school-id='{LINCOLN}']")).to_contain_text(
        "Lincoln High School (renamed)"
    )
    assert api.get(f"/v1/schools/{LINCOLN}")["name"] == "Lincoln High School (renamed)"

    document["schools"][0]["buildings"][0]["floors"][0]["rooms"][0]["type"] = "spaceship"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), "utf-8")
    form.locator("input[name=document]").set_input_files(str(bad))
    form.locator("button[type=submit]").click()
    refusal = form.locator(".form-error")
    expect(refusal).to_contain_text(
        "schools.0.buildings.0.floors.0.rooms.0.type", timeout=TIMEOUT_MS
    )
    screenshot(admin.page, "admin-sites-refused")
    assert api.get(f"/v1/schools/{LINCOLN}")["name"] == "Lincoln High School (renamed)"

    broken = tmp_path / "broken.json"
    broken.write_text("{ not json", "utf-8")
    form.locator("input[name=document]").set_input_files(str(broken))
    form.locator("button[type=submit]").click()
    expect(form.locator("input[name=document]")).to_have_attribute("aria-invalid", "true")
    expect(form).to_contain_text("broken.json is not JSON")


def test_a_district_admin_imports_an_imdf_archive_as_a_new_school(
    admin_page: Callable[..., AdminPage], api: Api, tmp_path: Path
) -> None:
    archive = tmp_path / "polymap.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        for path in sorted(POLYMAP.iterdir()):
            if path.is_file():
                packed.write(path, path.name)
    admin = admin_page("district_admin")
    admin.open("sites")
    form = admin.form("imdf")
    form.locator("select[name=school_id]").select_option("")
    form.locator("input[name=new_school_id]").fill("spbpu")
    form.locator("input[name=name]").fill("SPbPU")
    form.locator("input[name=archive]").set_input_files(str(archive))
    form.locator("button[type=submit]").click()
    expect(admin.page.locator("#upload-result")).to_contain_text(
        "Created the floor plans of SPbPU: 2 building(s), 8 floor(s), 443 room(s)",
        timeout=TIMEOUT_MS,
    )
    expect(admin.page.locator("#schools-list tr[data-school-id='spbpu']")).to_contain_text("443")
    assert api.get("/v1/schools/spbpu")["name"] == "SPbPU"
    not_zip = tmp_path / "plans.zip"
    not_zip.write_bytes(b"PK but not really")
    form.locator("select[name=school_id]").select_option(LINCOLN)
    form.locator("input[name=archive]").set_input_files(str(not_zip))
    form.locator("button[type=submit]").click()
    expect(form.locator("input[name=archive]")).to_have_attribute(
        "aria-invalid", "true", timeout=TIMEOUT_MS
    )
    expect(form).to_contain_text("not a zip archive")


def test_every_admin_page_passes_axe_and_the_audit_trail_says_it_is_intact(
    admin_page: Callable[..., AdminPage], api: Api
) -> None:
    api.http.post("/v1/users/demo-staff/api-keys", json={"name": "bell schedule sync"})
    admin = admin_page("district_admin")
    for tab in TABS:
        admin.open(tab)
        assert run_axe(admin.page, view=f"admin {tab}") == []
        screenshot(admin.page, f"admin-{tab}")
    verification = admin.page.locator("#audit-verification")
    expect(verification).to_have_attribute("data-ok", "true", timeout=TIMEOUT_MS)
    expect(verification).to_contain_text("Intact")
    expect(admin.page.locator("#audit-entries")).to_contain_text("auth.login")
    admin.page.get_by_role("button", name="Latest entries").click()
    expect(admin.page.locator("#audit-entries")).to_contain_text(
        re.compile(r"audit\.(export|verify)"), timeout=TIMEOUT_MS
    )
    keys = admin.open("keys")
    form = admin.form("new-key")
    form.locator("input[name=name]").fill("CAD integration")
    form.locator("button[type=submit]").click()
    key = admin.take_secret()
    assert key
    row = keys.locator("tr", has_text="CAD integration")
    expect(row).to_contain_text("Live")
    row.locator("button[data-action=revoke]").click()
    expect(row).to_contain_text("Revoked", timeout=TIMEOUT_MS)
