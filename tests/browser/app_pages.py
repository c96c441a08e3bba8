"""Page objects for the people's apps: the staff app (/app) and the SRO app (/sro)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from alertd.testing.auth import DEMO_PASSWORD, demo_user

TIMEOUT_MS = 15_000
HOLD_MS = 1500


class StaffApp:
    """A teacher's phone: signs in once, picks the room once, holds a button to send."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def open(self) -> StaffApp:
        self.page.goto(f"{self.base_url}/app/")
        return self

    def sign_in(self, role: str = "staff") -> StaffApp:
        self.page.fill("#email", demo_user(role))
        self.page.fill("#password", DEMO_PASSWORD)
        self.page.click("#signin-form button[type=submit]")
        expect(self.page.locator("#room-picker")).to_be_visible(timeout=TIMEOUT_MS)
        return self

    def choose_room(self, search: str, room_id: str) -> StaffApp:
        self.page.fill("#room-search", search)
        self.page.click(f"#room-list button[data-room-id='{room_id}']")
        expect(self.page.locator("#panel")).to_be_visible(timeout=TIMEOUT_MS)
        return self

    def wait_worker(self) -> StaffApp:
        """Until the service worker controls the page (it then holds the outbox)."""
        self.page.wait_for_function(
            "navigator.serviceWorker && navigator.serviceWorker.controller !== null",
            timeout=TIMEOUT_MS,
        )
        return self

    def button(self, kind: str) -> Locator:
        return self.page.locator(f"#kinds button[data-kind='{kind}']")

    def hold(self, kind: str, ms: int = HOLD_MS + 400) -> None:
        self.button(kind).scroll_into_view_if_needed()
        box = self.button(kind).bounding_box()
        assert box is not None
        self.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.page.mouse.down()
        self.page.wait_for_timeout(ms)
        self.page.mouse.up()

    def tap(self, kind: str) -> None:
        self.button(kind).click()

    @property
    def sent(self) -> Locator:
        return self.page.locator("#sent > li")

    def status(self, index: int = 0) -> Locator:
        return self.sent.nth(index).locator(".state")


class SroApp:
    """An SRO's phone: live alerts, acknowledge, en route, on scene, notes, the floor plan."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def sign_in(self, role: str = "sro") -> SroApp:
        self.page.goto(f"{self.base_url}/sro/")
        self.page.fill("#email", demo_user(role))
        self.page.fill("#password", DEMO_PASSWORD)
        self.page.click("#signin-form button[type=submit]")
        expect(self.page.locator("#connection")).to_have_attribute(
            "data-state", "live", timeout=TIMEOUT_MS
        )
        return self

    def alert(self, alert_id: str) -> Locator:
        return self.page.locator(f"#alerts button[data-alert-id='{alert_id}']")

    def act(self, action: str) -> None:
        self.page.click(f"#actions button[data-action='{action}']")


class RollScreen:
    """The staff app's roll: the banner on the panel, and the one-screen report."""

    def __init__(self, app: StaffApp) -> None:
        self.app = app
        self.page = app.page

    @property
    def banner(self) -> Locator:
        return self.page.locator("#roll-call")

    @property
    def screen(self) -> Locator:
        return self.page.locator("#roll")

    def open(self) -> RollScreen:
        expect(self.banner).to_be_visible(timeout=TIMEOUT_MS)
        self.page.click("#roll-open")
        expect(self.screen).to_be_visible(timeout=TIMEOUT_MS)
        return self

    def status(self, status: str) -> RollScreen:
        self.page.click(f"label[for='roll-{status.replace('_', '-')}']")
        return self

    def students(self, count: int) -> RollScreen:
        self.page.fill("#roll-present", str(count))
        return self

    def names(self, field: str, *names: str) -> RollScreen:
        self.page.fill(f"#roll-{field}", "\n".join(names))
        return self

    def send(self) -> None:
        self.page.click("#roll-send")
