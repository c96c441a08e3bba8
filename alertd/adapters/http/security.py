"""Security headers on every HTTP answer, and the refusal to run with placeholder secrets."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alertd.adapters.report.html import STYLE_SOURCE

# The interactive docs (/docs) are Swagger UI, served from this server (vendored); FastAPI's
# page starts it with an inline script. Nothing is loaded from anywhere else.
_DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)
# The console: its own modules and styles only, no inline code; it talks to this server over
# HTTP and the stream's WebSocket (named explicitly: older browsers do not let 'self' cover ws).
_CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; connect-src 'self'{sockets}"
)
# The staff and SRO apps: the console's policy, plus their service workers and manifests.
_APP_PATHS = ("/app", "/sro", "/clients-common")
_APP_EXTRA = b"; worker-src 'self'; manifest-src 'self'"
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
# An after-action report (?format=html): no script; its one inline stylesheet, by hash.
_REPORT_CSP = f"default-src 'none'; style-src {STYLE_SOURCE}; frame-ancestors 'none'"
_REPORT_PATH = re.compile(r"^/v1/alerts/[^/]+/report$")
_DOCS_PAGES = ("/docs", "/docs/oauth2-redirect")
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


class ConfigurationError(Exception):
    """The settings are unsafe to run with; the message says which and how to fix it."""


def _console_csp(scope: Scope) -> bytes:
    host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
    sockets = f" ws://{host} wss://{host}" if _HOST.fullmatch(host) else ""
    return _CONSOLE_CSP.format(sockets=sockets).encode()


class SecurityHeaders:
    """Adds the headers a browser needs to keep an emergency console from being framed,
    sniffed or leaking where it came from. HSTS only outside dev mode (dev runs on http)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        console = path == "/console" or path.startswith("/console/")
        client_app = any(path == p or path.startswith(p + "/") for p in _APP_PATHS)
        if console:
            policy = _console_csp(scope)
        elif client_app:
            policy = _console_csp(scope) + _APP_EXTRA
        elif _REPORT_PATH.fullmatch(path):
            policy = _REPORT_CSP.encode()
        else:
            policy = (_DOCS_CSP if path in _DOCS_PAGES else _API_CSP).encode()
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", policy),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if path.startswith("/v1/"):
            extra.append((b"cache-control", b"no-store"))
        elif console or client_app:
            extra.append((b"cache-control", b"no-cache"))  # revalidate: updates apply at once
        if self.hsts:
            extra.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
