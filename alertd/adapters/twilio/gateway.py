"""Texts and calls through the real `twilio` SDK, without blocking the event loop.

The SDK's asyncio client (`create_async`, on aiohttp) makes every request; each has a hard
timeout (`asyncio.timeout`). `ApiBaseHttpClient` rewrites https://api.twilio.com to
`ALERTD_TWILIO_API_BASE` for Twilio-compatible endpoints and tests.

Every text names its StatusCallback and a ValidityPeriod (a stale emergency text is dropped
by Twilio rather than delivered late); every call carries its TwiML inline (the alert said
twice, then a one-digit Gather whose action acknowledges on 1).

Errors become `DeliveryError`s: permanent ones (an invalid or unsubscribed number) are not
retried; temporary ones (429, 5xx, a refused connection) are tried at once on another
sender of the pool, then left to the outbox's backoff; a timeout after the request went
out is `outcome_unknown` (a retry may repeat the message, and the ledger will say so).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from alertd.adapters.metrics import Metrics
from alertd.adapters.twilio.errors import classify
from alertd.adapters.twilio.senders import Sender, SenderPool
from alertd.app.ports import DeliveryError, Receipt
from alertd.core.delivery import DeliveryState, masked

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
STATUS_PATH = "/v1/twilio/status"
INBOUND_SMS_PATH = "/v1/twilio/sms"
GATHER_PATH = "/v1/twilio/voice/gather"
SENDERS_PER_ATTEMPT = 3  # how many senders one attempt may go through on temporary errors


class ApiBaseHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's aiohttp client, sending https://api.twilio.com requests to `api_base`."""

    def __init__(self, api_base: str | None) -> None:
        super().__init__()
        self._api_base = api_base.rstrip("/") if api_base else None

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self._api_base and url.startswith(TWILIO_API):
            url = self._api_base + url[len(TWILIO_API) :]
        return await super().request(method, url, *args, **kwargs)


@dataclass(frozen=True, slots=True)
class Account:
    sid: str
    token: str
    senders: tuple[str, ...]  # From numbers and/or one Messaging Service SID


def call_twiml(script: str, *, gather_action: str) -> str:
    """The inline TwiML of an alert call: say it, ask for 1 (twice), then say goodbye."""
    response = VoiceResponse()
    for _ in range(2):
        gather = response.gather(num_digits=1, action=gather_action, method="POST", timeout=5)
        gather.say(script)
    response.say("No key pressed. Goodbye.")
    return str(response)


class TwilioGateway:
    """Implements `SmsGateway` and `VoiceGateway` with Twilio. Call `close` at shutdown."""

    def __init__(
        self,
        *,
        accounts: Sequence[Account],
        public_url: str,
        api_base: str | None,
        validity_seconds: int,
        timeout_seconds: float,
        metrics: Metrics,
        rate: float | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._accounts = tuple(accounts)
        self._public_url = public_url.rstrip("/")
        self._api_base = api_base
        self._validity = validity_seconds
        self._timeout = timeout_seconds
        self._metrics = metrics
        self.pool = SenderPool(
            [Sender(i, s) for i, a in enumerate(self._accounts) for s in a.senders],
            now=now,
            rate=rate,
        )
        self._clients: dict[int, tuple[Client, ApiBaseHttpClient]] = {}

    @property
    def status_callback(self) -> str:
        return self._public_url + STATUS_PATH

    def _client(self, account: int) -> Client:
        # Made inside the running loop (aiohttp sessions belong to one loop): at start-up
        # (`open`), or on first use.
        if account not in self._clients:
            http = ApiBaseHttpClient(self._api_base)
            found = self._accounts[account]
            client = Client(found.sid, found.token, http_client=http)
            # The SDK imports its resources on first touch (~0.1 s): not on an alert's path.
            _ = (client.messages, client.calls)
            self._clients[account] = (client, http)
        return self._clients[account][0]

    async def open(self) -> None:
        """Make the clients now, so the first alert does not pay for it."""
        for account in range(len(self._accounts)):
            self._client(account)

    async def close(self) -> None:
        for _client, http in self._clients.values():
            await http.close()
        self._clients.clear()

    async def send_sms(self, *, to: str, body: str, alert_id: str, drill: bool) -> Receipt:
        async def create(client: Client, sender: Sender) -> Any:
            address = (
                {"from_": sender.address}
                if sender.is_number
                else {"messaging_service_sid": sender.address}
            )
            return await client.messages.create_async(
                to=to,
                body=body,
                status_callback=self.status_callback,
                validity_period=self._validity,
                **address,
            )

        return await self._send(create, to=to, channel="sms", voice=False)

    async def place_call(self, *, to: str, script: str, alert_id: str, drill: bool) -> Receipt:
        twiml = call_twiml(script, gather_action=self._public_url + GATHER_PATH)

        async def create(client: Client, sender: Sender) -> Any:
            return await client.calls.create_async(
                to=to,
                from_=sender.address,
                twiml=twiml,
                # Without StatusCallbackEvent Twilio reports the final status only
                # (completed, busy, no-answer, failed): all the ledger needs.
                status_callback=self.status_callback,
                status_callback_method="POST",
                timeout=30,
            )

        return await self._send(create, to=to, channel="voice", voice=True)

    async def _send(
        self,
        create: Callable[[Client, Sender], Awaitable[Any]],
        *,
        to: str,
        channel: str,
        voice: bool,
    ) -> Receipt:
        tried: list[Sender] = []
        last: DeliveryError | None = None
        for _ in range(SENDERS_PER_ATTEMPT):
            booked = self.pool.reserve(voice=voice, exclude=tried)
            if booked is None:
                break
            sender, wait = booked
            self._metrics.sender_wait.labels(channel).observe(wait)
            if wait > 0:
                await asyncio.sleep(wait)
            tried.append(sender)
            try:
                async with asyncio.timeout(self._timeout):
                    created = await create(self._client(sender.account), sender)
            except TimeoutError:
                self.pool.failed(sender)
                self._count(channel, "timeout")
                raise DeliveryError(
                    f"no answer from Twilio within {self._timeout:g} s; it may have been sent",
                    temporary=True,
                    outcome_unknown=True,
                ) from None
            except TwilioRestException as error:
                found = classify(status=error.status, code=error.code, message=error.msg)
                self._count(channel, "permanent" if found.permanent else "temporary", found.code)
                failure = DeliveryError(
                    f"{found.reason} (Twilio {found.code or error.status})",
                    temporary=not found.permanent,
                    code=found.code,
                )
                if found.permanent:
                    raise failure from None
                self.pool.failed(sender)
                last = failure
                continue
            except aiohttp.ClientConnectorError as error:
                # Nothing was sent: the connection was never made. Another sender may do.
                self.pool.failed(sender)
                self._count(channel, "temporary", None)
                last = DeliveryError(f"cannot reach Twilio: {error}", temporary=True)
                continue
            except aiohttp.ClientError as error:
                self.pool.failed(sender)
                self._count(channel, "temporary", None)
                raise DeliveryError(
                    f"Twilio connection failed: {type(error).__name__}; it may have been sent",
                    temporary=True,
                    outcome_unknown=True,
                ) from None
            self.pool.succeeded(sender)
            self._count(channel, "accepted")
            logger.info(
                "%s to %s accepted by Twilio as %s from %s",
                channel,
                masked(to),
                created.sid,
                masked(sender.address),
            )
            return Receipt(DeliveryState.SENT, provider_ref=created.sid, sender=sender.address)
        raise last or DeliveryError("no Twilio sender can place this", temporary=False)

    def _count(self, channel: str, outcome: str, code: int | None = None) -> None:
        self._metrics.provider_requests.labels(channel, outcome).inc()
        if outcome not in ("accepted",):
            cause = str(code) if code is not None else outcome
            self._metrics.delivery_failures.labels(channel, cause).inc()
