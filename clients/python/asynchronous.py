"""`AsyncAlertdClient`: alertd's API and stream for asyncio programs (httpx + websockets).

    async with AsyncAlertdClient("https://alertd.example.org", api_key="ak_...") as alertd:
        alert = await alertd.raise_alert(kind="lockdown", room_id="lincoln-hs-a-204")
        async for event in alertd.stream(since=0):
            ...

Raising is retried with the same Idempotency-Key until alertd answers, so a retry never
raises a second alert. The stream resumes after the last event it yielded whenever the
connection drops, so no event is missed or repeated.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any

import httpx
import websockets

from clients.python.request import (
    CONTROL_TYPES,
    FINAL_CLOSE_CODES,
    RETRYABLE_STATUS,
    UNAUTHENTICATED_CLOSE,
    UNAUTHENTICATED_STATUS,
    AlertdError,
    Call,
    RetryPolicy,
    Unreachable,
    action_call,
    answer_of,
    raise_call,
    room_school,
    stream_url,
    token_form,
)


class AsyncAlertdClient:
    """Sign in with an API key, a bearer token, or `sign_in(username, password)`."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._refresh_token: str | None = None  # set by sign_in: access tokens expire
        self._api_key = api_key
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> AsyncAlertdClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _auth(self) -> dict[str, str]:
        if self._api_key:
            return {"X-API-Key": self._api_key}
        if self._token:
            return {"Authorization": f"Bearer {self._token}"}
        return {}

    async def call(self, call: Call) -> Any:
        """Send `call`, retrying unanswered attempts unchanged; the answer's JSON body.
        AlertdError for a refusal; Unreachable when no attempt got a final answer."""
        delays = self._retry.delays()
        renewed = False
        while True:
            try:
                answer = await self._http.request(
                    call.method,
                    call.path,
                    json=call.json,
                    params=call.params,
                    headers={**self._auth(), **call.headers},
                )
                if self._expired(answer.status_code) and not renewed:
                    renewed = True
                    await self._renew()
                    continue
                if answer.status_code not in RETRYABLE_STATUS:
                    return answer_of(answer.status_code, _json(answer))
                problem = f"alertd answered {answer.status_code}"
            except httpx.TransportError as error:
                problem = f"alertd unreachable: {type(error).__name__}"
            delay = next(delays, None)
            if delay is None:
                raise Unreachable(problem)
            await asyncio.sleep(delay)

    async def sign_in(self, username: str, password: str) -> None:
        """Exchange a username and password for tokens (kept by this client). The access
        token is renewed with the refresh token whenever alertd says it has expired."""
        await self._take_tokens(token_form(username=username, password=password))

    async def _renew(self) -> None:
        assert self._refresh_token is not None
        await self._take_tokens(token_form(refresh_token=self._refresh_token))

    async def _take_tokens(self, form: dict[str, str]) -> None:
        answer = await self._http.post("/v1/auth/token", data=form)
        tokens = answer_of(answer.status_code, _json(answer))
        self._token, self._refresh_token = tokens["access_token"], tokens.get("refresh_token")

    def _expired(self, status: int | None) -> bool:
        """Is this a refusal that renewing the access token can cure?"""
        return status in (UNAUTHENTICATED_STATUS, UNAUTHENTICATED_CLOSE) and bool(
            self._refresh_token
        )

    async def school_of_room(self, room_id: str) -> str:
        """The id of the school that has this room (AlertdError 404 if none you may see)."""
        for school in (await self.call(Call("GET", "/v1/schools")))["schools"]:
            if room_school(await self.call(Call("GET", f"/v1/schools/{school['id']}")), room_id):
                return str(school["id"])
        raise AlertdError(404, {"error": "not_found", "message": f"no room {room_id!r}",
                                "field": "room_id"})  # fmt: skip

    async def raise_alert(
        self,
        *,
        kind: str,
        school_id: str | None = None,
        room_id: str | None = None,
        note: str | None = None,
        drill: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Raise an alert (the school is looked up from the room when not given). Retried
        with one Idempotency-Key: however often it is sent, at most one alert is raised."""
        if school_id is None:
            if room_id is None:
                raise ValueError("raise_alert needs a school_id or a room_id")
            school_id = await self.school_of_room(room_id)
        call = raise_call(
            kind=kind, school_id=school_id, room_id=room_id, note=note, drill=drill,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return dict(await self.call(call))

    async def acknowledge(self, alert_id: str, *, note: str | None = None) -> dict[str, Any]:
        return dict(await self.call(action_call(alert_id, "acknowledge", {"note": note})))

    async def update(
        self, alert_id: str, *, status: str | None = None, note: str | None = None
    ) -> dict[str, Any]:
        """Report `en_route` / `on_scene` (with an optional note), or add a note alone."""
        if status is not None:
            body = {"status": status, "note": note}
            return dict(await self.call(action_call(alert_id, "status", body)))
        if note is None:
            raise ValueError("update needs a status or a note")
        return dict(await self.call(action_call(alert_id, "notes", {"text": note})))

    async def resolve(self, alert_id: str, *, note: str | None = None) -> dict[str, Any]:
        return dict(await self.call(action_call(alert_id, "resolve", {"note": note})))

    async def cancel(self, alert_id: str, *, reason: str) -> dict[str, Any]:
        return dict(await self.call(action_call(alert_id, "cancel", {"reason": reason})))

    async def alerts(self, **filters: Any) -> list[dict[str, Any]]:
        """GET /v1/alerts (filters: school, state, kind, drill, limit ...)."""
        return list((await self.call(Call("GET", "/v1/alerts", params=filters)))["alerts"])

    async def stream(
        self, *, since: int | None = None, control: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """The event log from after `since` (None: live events only), then live, forever.

        When the connection drops (a restart, a network cut, a slow-consumer close), it
        reconnects with since=<the last id yielded>: nothing is missed or repeated. Yields
        `caught_up` and `heartbeat` messages too when `control` is true. AlertdError when
        alertd refuses the stream itself (not signed in, a bad `since`).
        """
        last = since
        delays = self._retry.delays()
        renewed = False
        while True:
            url = stream_url(self.base_url, since=last, token=self._token)
            extra: Mapping[str, str] = {"X-API-Key": self._api_key} if self._api_key else {}
            try:
                async with websockets.connect(url, additional_headers=extra, proxy=None) as ws:
                    delays = self._retry.delays()  # connected: the back-off starts over
                    renewed = False
                    async for text in ws:
                        message = json.loads(text)
                        renewed = False  # the token was accepted
                        if message.get("type") in CONTROL_TYPES:
                            if message.get("type") == "caught_up" and last is None:
                                last = int(message["id"])
                            if control:
                                yield message
                            continue
                        last = int(message["id"])
                        yield message
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                if self._expired(code) and not renewed:
                    renewed = True  # once per connection: a fresh token refused is final
                    await self._renew()  # an AlertdError if the refresh token is spent too
                    continue
                if code in FINAL_CLOSE_CODES:
                    reason = closed.rcvd.reason if closed.rcvd else ""
                    raise AlertdError(
                        code, {"error": "stream_refused", "message": reason}
                    ) from None
            except (OSError, websockets.InvalidHandshake, TimeoutError):
                pass
            delay = next(delays, None)
            if delay is None:
                delays = self._retry.delays()
                delay = self._retry.max_delay
            await asyncio.sleep(delay)


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return {"message": answer.text}
