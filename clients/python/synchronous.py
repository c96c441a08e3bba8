"""`AlertdClient`: alertd's API and stream for plain (blocking) Python programs.

    with AlertdClient("https://alertd.example.org", api_key="ak_...") as alertd:
        alert = alertd.raise_alert(kind="staff_assist", room_id="lincoln-hs-a-204")
        for event in alertd.stream(since=0):
            ...

The same promises as `AsyncAlertdClient`: raising is retried with one Idempotency-Key, and
the stream resumes after the last event yielded when the connection drops.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

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


class AlertdClient:
    """Sign in with an API key, a bearer token, or `sign_in(username, password)`."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._refresh_token: str | None = None  # set by sign_in: access tokens expire
        self._api_key = api_key
        self._retry = retry or RetryPolicy()
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def __enter__(self) -> AlertdClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _auth(self) -> dict[str, str]:
        if self._api_key:
            return {"X-API-Key": self._api_key}
        if self._token:
            return {"Authorization": f"Bearer {self._token}"}
        return {}

    def call(self, call: Call) -> Any:
        """Send `call`, retrying unanswered attempts unchanged; the answer's JSON body.
        AlertdError for a refusal; Unreachable when no attempt got a final answer."""
        delays = self._retry.delays()
        renewed = False
        while True:
            try:
                answer = self._http.request(
                    call.method,
                    call.path,
                    json=call.json,
                    params=call.params,
                    headers={**self._auth(), **call.headers},
                )
                if self._expired(answer.status_code) and not renewed:
                    renewed = True
                    self._renew()
                    continue
                if answer.status_code not in RETRYABLE_STATUS:
                    return answer_of(answer.status_code, _json(answer))
                problem = f"alertd answered {answer.status_code}"
            except httpx.TransportError as error:
                problem = f"alertd unreachable: {type(error).__name__}"
            delay = next(delays, None)
            if delay is None:
                raise Unreachable(problem)
            time.sleep(delay)

    def sign_in(self, username: str, password: str) -> None:
        """Exchange a username and password for tokens (kept by this client). The access
        token is renewed with the refresh token whenever alertd says it has expired."""
        self._take_tokens(token_form(username=username, password=password))

    def _renew(self) -> None:
        assert self._refresh_token is not None
        self._take_tokens(token_form(refresh_token=self._refresh_token))

    def _take_tokens(self, form: dict[str, str]) -> None:
        answer = self._http.post("/v1/auth/token", data=form)
        tokens = answer_of(answer.status_code, _json(answer))
        self._token, self._refresh_token = tokens["access_token"], tokens.get("refresh_token")

    def _expired(self, status: int | None) -> bool:
        """Is this a refusal that renewing the access token can cure?"""
        return status in (UNAUTHENTICATED_STATUS, UNAUTHENTICATED_CLOSE) and bool(
            self._refresh_token
        )

    def school_of_room(self, room_id: str) -> str:
        for school in self.call(Call("GET", "/v1/schools"))["schools"]:
            if room_school(self.call(Call("GET", f"/v1/schools/{school['id']}")), room_id):
                return str(school["id"])
        raise AlertdError(404, {"error": "not_found", "message": f"no room {room_id!r}",
                                "field": "room_id"})  # fmt: skip

    def raise_alert(
        self,
        *,
        kind: str,
        school_id: str | None = None,
        room_id: str | None = None,
        note: str | None = None,
        drill: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Raise an alert; see `AsyncAlertdClient.raise_alert`."""
        if school_id is None:
            if room_id is None:
                raise ValueError("raise_alert needs a school_id or a room_id")
            school_id = self.school_of_room(room_id)
        call = raise_call(
            kind=kind, school_id=school_id, room_id=room_id, note=note, drill=drill,
            idempotency_key=idempotency_key,
        )  # fmt: skip
        return dict(self.call(call))

    def acknowledge(self, alert_id: str, *, note: str | None = None) -> dict[str, Any]:
        return dict(self.call(action_call(alert_id, "acknowledge", {"note": note})))

    def update(
        self, alert_id: str, *, status: str | None = None, note: str | None = None
    ) -> dict[str, Any]:
        """Report `en_route` / `on_scene` (with an optional note), or add a note alone."""
        if status is not None:
            return dict(
                self.call(action_call(alert_id, "status", {"status": status, "note": note}))
            )
        if note is None:
            raise ValueError("update needs a status or a note")
        return dict(self.call(action_call(alert_id, "notes", {"text": note})))

    def resolve(self, alert_id: str, *, note: str | None = None) -> dict[str, Any]:
        return dict(self.call(action_call(alert_id, "resolve", {"note": note})))

    def cancel(self, alert_id: str, *, reason: str) -> dict[str, Any]:
        return dict(self.call(action_call(alert_id, "cancel", {"reason": reason})))

    def alerts(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.call(Call("GET", "/v1/alerts", params=filters))["alerts"])

    def stream(
        self, *, since: int | None = None, control: bool = False
    ) -> Iterator[dict[str, Any]]:
        """The event log after `since`, then live, resuming after drops; see
        `AsyncAlertdClient.stream`."""
        last = since
        delays = self._retry.delays()
        renewed = False
        while True:
            url = stream_url(self.base_url, since=last, token=self._token)
            extra = {"X-API-Key": self._api_key} if self._api_key else {}
            try:
                with connect(url, additional_headers=extra, proxy=None) as ws:
                    delays = self._retry.delays()
                    for text in ws:
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
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                if self._expired(code) and not renewed:
                    renewed = True  # once per connection: a fresh token refused is final
                    self._renew()  # an AlertdError if the refresh token is spent too
                    continue
                if code in FINAL_CLOSE_CODES:
                    reason = closed.rcvd.reason if closed.rcvd else ""
                    raise AlertdError(
                        code, {"error": "stream_refused", "message": reason}
                    ) from None
            except (OSError, InvalidHandshake, TimeoutError):
                pass
            delay = next(delays, None)
            if delay is None:
                delays = self._retry.delays()
                delay = self._retry.max_delay
            time.sleep(delay)


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return {"message": answer.text}
