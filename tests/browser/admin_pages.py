"""Page object: what a school or district admin sees and does on the admin pages."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from alertd.testing.auth import DEMO_PASSWORD, demo_user

TIMEOUT_MS = 15_000
TABS = ("users", "keys", "sites", "devices", "audit")


class AdminPage:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        page.on("dialog", lambda dialog: dialog.accept())  # "Disable Taylor?" - yes

    def sign_in(
        self, role: str, *, username: str | None = None, password: str = DEMO_PASSWORD
    ) -> AdminPage:
        self.page.goto(f"{self.base_url}/console/admin.html")
        self.page.fill("#username", username or demo_user(role))
        self.page.fill("#password", password)
        self.page.click("#signin button[type=submit]")
        return self

    def open(self, tab: str) -> Locator:
        self.page.click(f".tabs a[data-tab='{tab}']")
        section = self.page.locator(f"#tab-{tab}")
        expect(section).to_have_attribute("data-ready", "true", timeout=TIMEOUT_MS)
        return section

    def form(self, name: str) -> Locator:
        return self.page.locator(f"form[data-form='{name}']")

    def labelled(self, form: Locator, label: str) -> Locator:
        return form.get_by_label(label, exact=False)

    @property
    def secret_dialog(self) -> Locator:
        return self.page.locator("#secret-dialog")

    def take_secret(self) -> str:
        """The secret in the shown-once dialog, then close it."""
        expect(self.secret_dialog).to_be_visible(timeout=TIMEOUT_MS)
        secret = self.page.locator("#secret-value").inner_text()
        self.page.click("#secret-done")
        expect(self.secret_dialog).to_be_hidden()
        # The dialog's close event (which wipes the secret) fires a task after it hides.
        expect(self.page.locator("#secret-value")).to_have_text("")
        return secret

    def user_row(self, email: str) -> Locator:
        return self.page.locator(f"#users-list tr[data-email='{email}']")
