"""What the browser tests share: an alertd served from a thread, the API as a demo user, the
no-internet route handler, axe-core, screenshots and a stopwatch."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Route

from alertd.adapters.db import migrate
from alertd.app.ports import Clock
from alertd.main import create_app
from alertd.testing.auth import DEMO_PASSWORD, demo_user
from alertd.testing.live import serving
from alertd.testing.settings import make_settings

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("ALERTD_SCREENSHOTS", "build/screenshots"))


class ServedAlertd:
    """An alertd app served on a free port from its own thread and event loop."""

    def __init__(self, data_dir: Path, clock: Clock | None = None) -> None:
        url = f"sqlite:///{data_dir / 'alertd.db'}"
        migrate.upgrade(url)
        self.database_url = url
        self.data_dir = data_dir
        self.settings = make_settings(data_dir, url, stream_heartbeat_seconds=2.0)
        self.url = ""
        self.clock = clock  # None: the system clock
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with serving(create_app(self.settings, clock=self.clock)) as url:
                self.url = url
                self._ready.set()
                await self._stop.wait()

        asyncio.run(main())

    def __enter__(self) -> ServedAlertd:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("alertd did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


class Api:
    """The HTTP API as a demo user (a bearer token), for raising and checking alerts."""

    def __init__(self, base_url: str, role: str = "district_admin") -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        answer = self.http.post(
            "/v1/auth/token", data={"username": demo_user(role), "password": DEMO_PASSWORD}
        )
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def raise_alert(self, **body: Any) -> dict[str, Any]:
        payload = {"kind": "medical", "school_id": "lincoln-hs", **body}
        answer = self.http.post(
            "/v1/alerts", json=payload, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def get(self, path: str) -> Any:
        answer = self.http.get(path)
        answer.raise_for_status()
        return answer.json()


class Offline:
    """Aborts every request that is not for the alertd under test, and remembers it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.blocked: list[str] = []

    def __call__(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.base_url) or url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")


def run_axe(page: Any, *, view: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands (injected)."""
    # Evaluated through the DevTools protocol: the console's CSP rightly refuses inline scripts.
    page.evaluate(AXE.read_text("utf-8") + "\n;true")
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    for violation in serious:
        print(f"axe {view}: {violation['id']}: {[n['target'] for n in violation['nodes']]}")
    return serious


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def timed() -> Callable[[], float]:
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
