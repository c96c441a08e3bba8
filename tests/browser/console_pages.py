"""Page objects: what a dispatcher sees and does on the console, in their words."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from alertd.testing.auth import DEMO_PASSWORD, demo_user

TIMEOUT_MS = 15_000


class ConsolePage:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def sign_in(self, role: str) -> ConsolePage:
        self.page.goto(f"{self.base_url}/console/")
        self.page.fill("#username", demo_user(role))
        self.page.fill("#password", DEMO_PASSWORD)
        self.page.click("#signin button[type=submit]")
        self.wait_live()
        # Ready once the alerts are loaded: the queue shows rows or says there are none.
        expect(self.page.locator("#queue > li").first).to_be_visible(timeout=TIMEOUT_MS)
        return self

    # --- the connection ---------------------------------------------------------------------

    @property
    def connection(self) -> Locator:
        return self.page.locator("#connection")

    def wait_live(self) -> None:
        expect(self.connection).to_have_attribute("data-state", "live", timeout=TIMEOUT_MS)

    @property
    def not_live_banner(self) -> Locator:
        return self.page.locator("#not-live")

    # --- the queue ---------------------------------------------------------------------------

    def row(self, alert_id: str) -> Locator:
        return self.page.locator(f"#queue button.row[data-alert-id='{alert_id}']")

    def incidents(self) -> Locator:
        return self.page.locator("#queue li.incident")

    def top_level_rows(self) -> Locator:
        return self.page.locator("#queue > li > button.row")

    def wait_for_alert(self, alert_id: str) -> Locator:
        row = self.row(alert_id)
        expect(row).to_be_attached(timeout=TIMEOUT_MS)
        return row

    # --- the new-alert takeover --------------------------------------------------------------

    @property
    def takeover(self) -> Locator:
        return self.page.locator("#takeover")

    def confirm_seen(self) -> None:
        expect(self.takeover).to_be_visible(timeout=TIMEOUT_MS)
        button = self.page.locator("#takeover-seen")
        expect(button).to_be_enabled(timeout=TIMEOUT_MS)
        button.click()
        expect(self.takeover).to_be_hidden()

    # --- the detail --------------------------------------------------------------------------

    def open(self, alert_id: str) -> None:
        self.row(alert_id).click()
        expect(self.page.locator(f".detail-head[data-alert-id='{alert_id}']")).to_be_visible(
            timeout=TIMEOUT_MS
        )

    def act(self, action: str) -> None:
        self.page.locator(f"#detail button[data-action='{action}']").click()

    @property
    def detail(self) -> Locator:
        return self.page.locator("#detail")

    @property
    def action_error(self) -> Locator:
        return self.page.locator("#action-error")

    @property
    def drill_banner(self) -> Locator:
        return self.page.locator("[data-drill-banner]")

    def field(self, name: str) -> Locator:
        return self.page.locator(f"#detail [data-field='{name}']")

    # --- the floor plan ----------------------------------------------------------------------

    def plan_room(self, room_id: str) -> Locator:
        return self.page.locator(f"#plan [data-room-id='{room_id}']")

    def plan_rooms(self) -> Locator:
        return self.page.locator("#plan path.room")

    def cameras(self) -> Locator:
        return self.page.locator("#plan g.camera")

    def choose_plan(self, *, school: str, floor_label: str | None = None) -> None:
        self.page.select_option("#plan-school", school)
        if floor_label is not None:
            self.page.select_option("#plan-floor", label=floor_label)
