"""Security headers on every HTTP answer, and the refusal to run with placeholder secrets."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The interactive docs (/docs) load Swagger UI from a CDN; everything else is JSON and may
# load nothing at all.
_DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'none'"
)
_API_CSP = "default-src 'none'; frame-ancestors 'none'"


class ConfigurationError(Exception):
    """The settings are unsafe to run with; the message says which and how to fix it."""


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
        docs = scope["path"] in ("/docs", "/redoc", "/docs/oauth2-redirect")
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", (_DOCS_CSP if docs else _API_CSP).encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if scope["path"].startswith("/v1/"):
            extra.append((b"cache-control", b"no-store"))
        if self.hsts:
            extra.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
