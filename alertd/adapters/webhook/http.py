"""Webhook deliveries over HTTP (httpx), and host name resolution at delivery time.

`HttpxWebhookTransport` posts one signed body and reports the status; it never follows
redirects (a redirect could lead into the school's network past the address check), and a
timeout or connection failure is a temporary DeliveryError. Given the addresses the relay
checked, it connects only to those (the name still goes in Host and TLS). `SystemResolver`
asks the system's resolver for every address of a host, so the relay can refuse private
ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Sequence

import httpx
import orjson

from alertd.adapters import codec
from alertd.app.ports import DeliveryError, LoggedEvent
from alertd.app.webhooks import WebhookAnswer
from alertd.core.webhook import IpAddress


class HttpxWebhookTransport:
    def __init__(self, *, timeout_seconds: float) -> None:
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, trust_env=False
        )

    async def post(
        self,
        url: str,
        *,
        body: str,
        headers: dict[str, str],
        addresses: Sequence[IpAddress] = (),
    ) -> WebhookAnswer:
        try:
            if not addresses:
                answer = await self._client.post(url, content=body.encode(), headers=headers)
            else:
                answer = await self._post_pinned(httpx.URL(url), addresses, body, headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"{type(error).__name__}: {error}", temporary=True) from None
        return WebhookAnswer(status_code=answer.status_code)

    async def _post_pinned(
        self,
        target: httpx.URL,
        addresses: Sequence[IpAddress],
        body: str,
        headers: dict[str, str],
    ) -> httpx.Response:
        """POST to each address in turn until one takes the connection (the last one's
        failure is raised). The name, not the address, goes in Host and in TLS (SNI and
        the certificate check). Not kept alive: a pooled connection is keyed by address,
        and would serve another name at that address unchecked."""
        named = {**headers, "host": target.netloc.decode("ascii"), "connection": "close"}
        for address in addresses[:-1]:
            with contextlib.suppress(httpx.ConnectError):
                return await self._pinned(target, address, body, named)
        return await self._pinned(target, addresses[-1], body, named)

    async def _pinned(
        self, target: httpx.URL, address: IpAddress, body: str, headers: dict[str, str]
    ) -> httpx.Response:
        return await self._client.post(
            target.copy_with(host=str(address)),
            content=body.encode(),
            headers=headers,
            extensions={"sni_hostname": target.host},
        )

    async def close(self) -> None:
        await self._client.aclose()


class SystemResolver:
    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass  # a name, not an address literal
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        found: list[IpAddress] = []
        for _family, _type, _proto, _name, address in infos:
            ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
            if ip not in found:
                found.append(ip)
        return found


def webhook_payload(logged: LoggedEvent) -> str:
    """The body of a webhook message (Standard Webhooks' shape): the event's type, its time,
    and the stream message itself as `data` (its per-type schema in schemas/messages/)."""
    body = {
        "type": logged.event.type.value,
        "timestamp": codec.iso(logged.event.at),
        "data": codec.logged_to_dict(logged),
    }
    return orjson.dumps(body).decode()
