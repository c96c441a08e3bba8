"""The staff app (/app) on a 360x640 phone in Chromium, against a real alertd, no internet."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from app_pages import TIMEOUT_MS, StaffApp
from browser_harness import Api, ServedAlertd, run_axe, screenshot
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import BrowserContext, expect
from push_service import LoopbackPushService

from alertd.adapters.push.encryption import b64url_encode, decrypt, public_bytes

pytestmark = pytest.mark.xdist_group("browser")

PHONE = {"width": 360, "height": 640}
ROOM = "lincoln-hs-a-109"  # Room 109 - English, Main Building, Floor 1


def staff_alerts(api: Api) -> list[dict[str, Any]]:
    """Every alert the demo staff member raised (as the district admin sees them)."""
    alerts = api.get("/v1/alerts?limit=1000")["alerts"]
    return [a for a in alerts if a["raised_by"]["name"] == "Sam Staff"]


@pytest.fixture
def staff_app(
    alertd: ServedAlertd, new_context: Callable[..., BrowserContext]
) -> Callable[..., StaffApp]:
    def open_app(**options: Any) -> StaffApp:
        context = new_context(**PHONE, **options)
        app = StaffApp(context.new_page(), alertd.url).open().sign_in()
        return app.choose_room("109", ROOM)

    return open_app


def test_holding_a_button_sends_exactly_one_alert_and_a_short_tap_sends_none(
    staff_app: Callable[..., StaffApp], api: Api
) -> None:
    app = staff_app()
    app.tap("medical")
    app.tap("lockdown")
    expect(app.page.locator("#hold-feedback")).to_contain_text("Keep holding")
    app.page.wait_for_timeout(2500)  # long enough for any send to have happened
    assert staff_alerts(api) == []
    expect(app.sent).to_have_count(0)

    app.hold("medical")
    expect(app.status()).to_have_text("Received by dispatch", timeout=TIMEOUT_MS)
    alerts = staff_alerts(api)
    assert [(a["kind"], a["room_id"], a["source"]) for a in alerts] == [("medical", ROOM, "app")]
    app.page.wait_for_timeout(1500)  # the service worker's retries must not add one
    assert len(staff_alerts(api)) == 1
    screenshot(app.page, "staff-app-received")


def test_an_alert_sent_offline_shows_not_sent_yet_and_arrives_once_when_back_online(
    staff_app: Callable[..., StaffApp], api: Api
) -> None:
    app = staff_app().wait_worker()
    app.page.context.set_offline(True)
    app.hold("staff_assist")
    not_sent = app.status()
    expect(not_sent).to_have_text("NOT SENT YET", timeout=TIMEOUT_MS)
    assert not_sent.evaluate("n => getComputedStyle(n).color") == "rgb(176, 0, 32)"  # red
    app.page.wait_for_timeout(3000)  # the worker keeps trying while offline
    assert staff_alerts(api) == []
    screenshot(app.page, "staff-app-not-sent-yet")

    app.page.context.set_offline(False)
    expect(app.status()).to_have_text("Received by dispatch", timeout=TIMEOUT_MS)
    app.page.wait_for_timeout(2500)  # more retries, a reload: still one alert
    app.page.reload()
    expect(app.status()).to_have_text("Received by dispatch", timeout=TIMEOUT_MS)
    alerts = staff_alerts(api)
    assert [(a["kind"], a["room_id"]) for a in alerts] == [("staff_assist", ROOM)]


def test_the_dispatchers_acknowledgement_appears_in_words(
    staff_app: Callable[..., StaffApp], alertd: ServedAlertd
) -> None:
    app = staff_app()
    app.hold("fire")
    expect(app.status()).to_have_text("Received by dispatch", timeout=TIMEOUT_MS)
    dispatcher = Api(alertd.url, role="dispatcher")
    try:
        (alert,) = [a for a in dispatcher.get("/v1/alerts")["alerts"] if a["kind"] == "fire"]
        answer = dispatcher.http.post(f"/v1/alerts/{alert['id']}/acknowledge", json={})
        assert answer.status_code == 200, answer.text
        name = dispatcher.get("/v1/auth/me")["name"]
    finally:
        dispatcher.http.close()
    expect(app.status()).to_have_text(f"Acknowledged by {name}", timeout=TIMEOUT_MS)


def test_a_mistaken_alert_is_cancelled_with_a_reason_within_thirty_seconds(
    staff_app: Callable[..., StaffApp], api: Api
) -> None:
    app = staff_app()
    app.hold("staff_assist")
    expect(app.status()).to_have_text("Received by dispatch", timeout=TIMEOUT_MS)
    app.sent.first.locator("button.cancel").click()
    app.page.select_option("#cancel-reason", "mistake")
    app.page.click("#cancel button[type=submit]")
    expect(app.status()).to_have_text("Cancelled", timeout=TIMEOUT_MS)
    (alert,) = staff_alerts(api)
    assert (alert["state"], alert["cancel_reason"]) == ("cancelled", "Pressed by mistake")


def test_spanish_shows_when_the_browser_asks_for_it(
    staff_app: Callable[..., StaffApp],
) -> None:
    app = staff_app(locale="es-ES")
    expect(app.page.locator("html")).to_have_attribute("lang", "es")
    expect(app.button("lockdown")).to_contain_text("Confinamiento")
    expect(app.page.locator("#hold-hint")).to_contain_text("Mantenga pulsado")
    app.hold("medical")
    expect(app.status()).to_have_text("Recibida por el centro de despacho", timeout=TIMEOUT_MS)


def test_a_lockdown_raised_elsewhere_shows_its_instruction_live(
    staff_app: Callable[..., StaffApp], api: Api
) -> None:
    app = staff_app()
    api.raise_alert(kind="lockdown")
    expect(app.page.locator("#campus")).to_contain_text(
        "LOCKDOWN: Locks, lights, out of sight.", timeout=TIMEOUT_MS
    )


def test_the_staff_app_has_no_serious_accessibility_violations(
    staff_app: Callable[..., StaffApp], alertd: ServedAlertd, new_context: Any
) -> None:
    signin = new_context(**PHONE).new_page()
    signin.goto(f"{alertd.url}/app/")
    expect(signin.locator("#signin")).to_be_visible(timeout=TIMEOUT_MS)
    assert run_axe(signin, view="staff sign-in") == []
    app = staff_app()
    app.hold("medical")
    expect(app.status()).to_have_text("Received by dispatch", timeout=TIMEOUT_MS)
    assert run_axe(app.page, view="staff panel") == []


@pytest.mark.parametrize(
    ("locale", "title", "body"),
    [
        ("en-US", "LOCKDOWN", "Locks, lights, out of sight."),
        ("es-ES", "CONFINAMIENTO", "Cerraduras, luces, fuera de la vista."),
    ],
)
def test_a_lockdown_pushed_to_a_closed_app_shows_its_instruction_silently(
    staff_app: Callable[..., StaffApp],
    alertd: ServedAlertd,
    api: Api,
    locale: str,
    title: str,
    body: str,
) -> None:
    """alertd -> a push service -> the browser (decrypted here with the browser's keys, as
    the browser would) -> the app's service worker, which shows the notification."""
    app = staff_app(locale=locale, permissions=["notifications"]).wait_worker()
    browser_key = ec.generate_private_key(ec.SECP256R1())
    browser_auth = os.urandom(16)
    with LoopbackPushService() as push_service:
        staff = Api(alertd.url, role="staff")
        try:
            subscription = {
                "endpoint": f"{push_service.url}/push/teacher",
                "keys": {
                    "p256dh": b64url_encode(public_bytes(browser_key.public_key())),
                    "auth": b64url_encode(browser_auth),
                },
            }
            answer = staff.http.put("/v1/push/subscriptions/phone", json=subscription)
            assert answer.status_code == 200, answer.text
        finally:
            staff.http.close()
        api.raise_alert(kind="lockdown")
        for _ in range(100):
            if push_service.received:
                break
            app.page.wait_for_timeout(100)
        (push,) = push_service.received
    message = decrypt(push["body"], private_key=browser_key, auth=browser_auth).decode()

    cdp = app.page.context.new_cdp_session(app.page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    app.page.wait_for_timeout(300)
    (registration,) = {
        r["registrationId"]: r for r in registrations if r["scopeURL"].endswith("/app/")
    }.values()
    origin = app.page.evaluate("location.origin")
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registration["registrationId"], "data": message},
    )
    shown = (
        "async () => (await (await navigator.serviceWorker.ready).getNotifications())"
        ".map(n => ({title: n.title, body: n.body, silent: n.silent}))"
    )
    for _ in range(50):
        notifications = app.page.evaluate(shown)
        if notifications:
            break
        app.page.wait_for_timeout(100)
    assert notifications == [{"title": title, "body": body, "silent": True}]
