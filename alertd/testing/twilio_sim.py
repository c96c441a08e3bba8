"""A Twilio of our own on 127.0.0.1, for tests and benchmarks (in the spirit of GoAlert's
mocktwilio). The real `twilio` SDK talks to it through `ALERTD_TWILIO_API_BASE`.

It accepts `Messages.json` and `Calls.json` of the 2010-04-01 API, checks each request
against Twilio's own OpenAPI document (required and unknown parameters, types, enums, basic
auth), answers like Twilio (201 with a SID, or Twilio's error JSON), and then posts
**signed** status callbacks back (sent, then delivered / undelivered / failed; a call:
initiated, ringing, then answered and completed, or busy / no-answer / failed). It can
answer 429 or 500, or hang, on demand; and it sends texts (replies) and key presses to
alertd's webhooks, signed like Twilio signs them.

Callbacks are signed for the URL alertd named (its public URL) and delivered to
`deliver_to` instead, as a reverse proxy would: that is how alertd is reached in tests.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from twilio.request_validator import RequestValidator

MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
CALLS = "/2010-04-01/Accounts/{AccountSid}/Calls.json"
_ROUTE = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/(?P<what>Messages|Calls)\.json$")
FINAL_MESSAGE = ("delivered", "undelivered", "failed", "none")
FINAL_CALL = ("completed", "busy", "no-answer", "failed")
CALLBACK_RETRY_SECONDS = 15.0


@dataclass
class Request:
    """One API request as the simulator took it (accepted or not)."""

    what: str  # "Messages" or "Calls"
    account: str
    params: dict[str, list[str]]
    at: float  # time.monotonic() when it arrived
    status: int = 0
    sid: str | None = None

    def get(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None


@dataclass
class Fault:
    kind: str  # "429", "500", "hang"
    times: int
    sender: str | None = None
    to: str | None = None

    def matches(self, params: Mapping[str, list[str]]) -> bool:
        sender = next(iter(params.get("From") or params.get("MessagingServiceSid") or []), None)
        to = next(iter(params.get("To") or []), None)
        return (self.sender is None or self.sender == sender) and (self.to is None or self.to == to)


@dataclass
class Outcome:
    status: str
    error_code: int | None = None


class SpecCheck:
    """Checks form parameters against the request schema of an operation of the spec."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._schemas = {
            what: spec["paths"][path]["post"]["requestBody"]["content"][
                "application/x-www-form-urlencoded"
            ]["schema"]
            for what, path in (("Messages", MESSAGES), ("Calls", CALLS))
        }

    def problems(self, what: str, params: Mapping[str, list[str]]) -> list[str]:
        schema = self._schemas[what]
        properties: Mapping[str, Any] = schema["properties"]
        found = [
            f"missing required parameter {n}" for n in schema.get("required", ()) if n not in params
        ]
        for name, values in params.items():
            prop = properties.get(name)
            if prop is None:
                found.append(f"unknown parameter {name}")
                continue
            kind = prop.get("type")
            if kind != "array" and len(values) > 1:
                found.append(f"{name} given {len(values)} times")
            items = prop.get("items", {}) if kind == "array" else prop
            for value in values:
                found += _value_problems(name, value, items)
        return found


def _value_problems(name: str, value: str, schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return [f"{name} is not an integer: {value!r}"]
    if kind == "number" and not re.fullmatch(r"-?\d+(\.\d+)?", value):
        return [f"{name} is not a number: {value!r}"]
    if kind == "boolean" and value.lower() not in ("true", "false"):
        return [f"{name} is not a boolean: {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{name} is not one of {schema['enum']}: {value!r}"]
    if schema.get("format") == "uri" and not re.match(r"^https?://[^\s_/]+", value):
        return [f"{name} is not a URL: {value!r}"]
    return []


class TwilioSimulator:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        spec_path: Path,
        callback_delay: float = 0.02,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.spec = SpecCheck(orjson.loads(spec_path.read_bytes()))
        self.callback_delay = callback_delay
        self.deliver_to: tuple[str, str] | None = None  # (public base, actual base)
        self.accounts: dict[str, str] = {account_sid: auth_token}
        self.requests: list[Request] = []
        self.callbacks: list[tuple[str, dict[str, str], int]] = []  # url, params, answer
        self.outcomes: dict[str, Outcome] = {}
        self.faults: list[Fault] = []
        self.on_request: Callable[[Request], None] | None = None
        self._sids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._hung = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    # --- running -------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/{resource}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self.url

    async def stop(self) -> None:
        self._hung.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def add_account(self, sid: str, token: str) -> None:
        self.accounts[sid] = token

    # --- what the test asks for -----------------------------------------------------------

    def fail_next(
        self, kind: str, *, times: int = 1, sender: str | None = None, to: str | None = None
    ) -> None:
        """Answer the next `times` matching requests with "429" or "500", hang on them
        ("hang"), or refuse them with a Twilio error code ("21211": 400 with that code)."""
        self.faults.append(Fault(kind, times, sender, to))

    def outcome_for(self, to: str, status: str, error_code: int | None = None) -> None:
        """What becomes of messages (or calls) to `to`: delivered (the default), undelivered,
        failed, or none (no receipt at all); for calls: completed, busy, no-answer, failed."""
        self.outcomes[to] = Outcome(status, error_code)

    def accepted(self, what: str = "Messages", *, to: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if r.what == what and r.sid is not None and (to is None or r.get("To") == to)
        ]

    async def wait_until(self, check: Callable[[], bool], *, timeout: float = 30) -> None:
        """Until `check()` holds (generous: a loaded CI machine validates slowly)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(check)

    async def reply(self, *, sender: str, to: str, body: str, token: str | None = None) -> int:
        """A text from `sender` to one of alertd's numbers; alertd's answer's status."""
        params = {
            "MessageSid": self._sid("SM"),
            "AccountSid": self.account_sid,
            "From": sender,
            "To": to,
            "Body": body,
            "NumMedia": "0",
        }
        return await self.post_signed(self._public("/v1/twilio/sms"), params, token=token)

    async def press(self, call: Request, digits: str, *, token: str | None = None) -> int:
        """Press keys during a call: post to the call's Gather action."""
        twiml = call.get("Twiml") or ""
        found = re.search(r'action="([^"]+)"', twiml)
        assert found, f"the call has no Gather action: {twiml}"
        params = {
            "CallSid": call.sid or "",
            "AccountSid": self.account_sid,
            "From": call.get("From") or "",
            "To": call.get("To") or "",
            "Digits": digits,
            "CallStatus": "in-progress",
        }
        return await self.post_signed(found.group(1).replace("&amp;", "&"), params, token=token)

    async def post_signed(
        self,
        url: str,
        params: Mapping[str, str],
        *,
        token: str | None = None,
        signature: str | None = None,
    ) -> int:
        """POST `params` to `url` (rewritten to `deliver_to`), signed with `token` (default
        the account's) unless `signature` is given ("" sends none)."""
        if signature is None:
            signature = RequestValidator(token or self.auth_token).compute_signature(url, params)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        target = self._rewrite(url)
        assert self._session is not None
        async with self._session.post(target, data=dict(params), headers=headers) as answer:
            await answer.read()
            status = answer.status
        self.callbacks.append((url, dict(params), status))
        await self._notify()
        return status

    # --- the API --------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        matched = _ROUTE.match(request.path)
        if matched is None:
            return _error(404, 20404, "The requested resource was not found")
        form = await request.post()
        params: dict[str, list[str]] = {}
        for key, value in form.items():
            params.setdefault(key, []).append(str(value))
        taken = Request(matched["what"], matched["account"], params, time.monotonic())
        self.requests.append(taken)
        if self.on_request is not None:
            self.on_request(taken)
        await self._notify()
        answer = await self._answer(request, taken)
        taken.status = answer.status
        await self._notify()
        return answer

    async def _answer(self, request: web.Request, taken: Request) -> web.StreamResponse:
        token = self.accounts.get(taken.account)
        auth = request.headers.get("Authorization", "")
        if token is None or auth != aiohttp.BasicAuth(taken.account, token).encode():
            return _error(401, 20003, "Authenticate")
        problems = self.spec.problems(taken.what, taken.params)
        if taken.what == "Messages" and not (taken.get("From") or taken.get("MessagingServiceSid")):
            problems.append("A 'From' phone number or MessagingServiceSid is required")
        if problems:
            return _error(400, 21604 if "To" not in taken.params else 21602, "; ".join(problems))
        fault = next((f for f in self.faults if f.times > 0 and f.matches(taken.params)), None)
        if fault is not None:
            fault.times -= 1
            if fault.kind == "hang":
                await self._hung.wait()
                return _error(503, 20503, "hung up")
            if fault.kind == "429":
                return _error(429, 20429, "Too Many Requests")
            if fault.kind == "500":
                return _error(500, 20500, "Internal Server Error")
            # Otherwise a Twilio error code: refused for good.
            return _error(400, int(fault.kind), f"Twilio error {fault.kind}")
        to = taken.get("To") or ""
        if taken.what == "Messages":
            taken.sid = self._sid("SM")
            self._spawn(self._message_callbacks(taken, self.outcomes.get(to, Outcome("delivered"))))
            return web.json_response(self._message_body(taken), status=201)
        taken.sid = self._sid("CA")
        self._spawn(self._call_callbacks(taken, self.outcomes.get(to, Outcome("completed"))))
        return web.json_response(self._call_body(taken), status=201)

    def _message_body(self, taken: Request) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC))
        return {
            "sid": taken.sid,
            "account_sid": taken.account,
            "to": taken.get("To"),
            "from": taken.get("From"),
            "messaging_service_sid": taken.get("MessagingServiceSid"),
            "body": taken.get("Body"),
            "status": "accepted" if taken.get("MessagingServiceSid") else "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{taken.account}/Messages/{taken.sid}.json",
        }

    def _call_body(self, taken: Request) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC))
        return {
            "sid": taken.sid,
            "account_sid": taken.account,
            "to": taken.get("To"),
            "from": taken.get("From"),
            "status": "queued",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "uri": f"/2010-04-01/Accounts/{taken.account}/Calls/{taken.sid}.json",
        }

    async def _message_callbacks(self, taken: Request, outcome: Outcome) -> None:
        url = taken.get("StatusCallback")
        if not url:
            return
        steps = ["sent"] if outcome.status in ("delivered", "undelivered", "none") else []
        if outcome.status != "none":
            steps.append(outcome.status)
        for status in steps:
            await asyncio.sleep(self.callback_delay)
            params = {
                "MessageSid": taken.sid or "",
                "SmsSid": taken.sid or "",
                "AccountSid": taken.account,
                "From": taken.get("From") or "",
                "To": taken.get("To") or "",
                "MessageStatus": status,
                "SmsStatus": status,
                "ApiVersion": "2010-04-01",
            }
            if status in ("undelivered", "failed") and outcome.error_code is not None:
                params["ErrorCode"] = str(outcome.error_code)
            await self._callback(url, params)

    async def _call_callbacks(self, taken: Request, outcome: Outcome) -> None:
        url = taken.get("StatusCallback")
        if not url:
            return
        steps = ["initiated", "ringing"]
        steps += ["in-progress", "completed"] if outcome.status == "completed" else [outcome.status]
        for status in steps:
            await asyncio.sleep(self.callback_delay)
            params = {
                "CallSid": taken.sid or "",
                "AccountSid": taken.account,
                "From": taken.get("From") or "",
                "To": taken.get("To") or "",
                "CallStatus": status,
                "Direction": "outbound-api",
                "ApiVersion": "2010-04-01",
            }
            if outcome.error_code is not None and status == "failed":
                params["ErrorCode"] = str(outcome.error_code)
            await self._callback(url, params)

    async def _callback(self, url: str, params: dict[str, str]) -> None:
        """Post one callback; while alertd cannot be reached (it is restarting, and
        `deliver_to` is about to name its new address), keep trying for a while."""
        token = self.accounts.get(params["AccountSid"], self.auth_token)
        deadline = time.monotonic() + CALLBACK_RETRY_SECONDS
        while True:
            try:
                await self.post_signed(url, params, token=token)
                return
            except aiohttp.ClientConnectorError:
                if time.monotonic() > deadline:
                    return
                await asyncio.sleep(0.1)
            except aiohttp.ClientError:
                return

    # --- plumbing -------------------------------------------------------------------------

    def _sid(self, prefix: str) -> str:
        return f"{prefix}{next(self._sids):08x}{secrets.token_hex(12)}"

    def _public(self, path: str) -> str:
        assert self.deliver_to is not None, "set deliver_to = (public base, actual base)"
        return self.deliver_to[0].rstrip("/") + path

    def _rewrite(self, url: str) -> str:
        if self.deliver_to is not None and url.startswith(self.deliver_to[0]):
            return self.deliver_to[1].rstrip("/") + url[len(self.deliver_to[0].rstrip("/")) :]
        return url

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def _error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)
