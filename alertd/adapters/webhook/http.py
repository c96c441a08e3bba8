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
        if not addresses:
            return await self._post(url, body=body, headers=headers)
        target = httpx.URL(url)
        refused: httpx.ConnectError | None = None
        for address in addresses:
            try:
                return await self._post(
                    target.copy_with(host=str(address)),
                    body=body,
                    # The name, not the address, in Host and in TLS (SNI and the certificate
                    # check). Not kept alive: a pooled connection is keyed by address, and
                    # would serve another name at that address unchecked.
                    headers={
                        **headers,
                        "host": target.netloc.decode("ascii"),
                        "connection": "close",
                    },
                    extensions={"sni_hostname": target.host},
                    fall_through=True,
                )
            except httpx.ConnectError as error:
                refused = error
        raise DeliveryError(f"ConnectError: {refused}", temporary=True)

    async def _post(
        self,
        url: str | httpx.URL,
        *,
        body: str,
        headers: dict[str, str],
        extensions: dict[str, str] | None = None,
        fall_through: bool = False,
    ) -> WebhookAnswer:
        """One POST; a failed connection raises httpx.ConnectError if `fall_through` (the
        next address is tried), any other failure DeliveryError (temporary)."""
        try:
            answer = await self._client.post(
                url, content=body.encode(), headers=headers, extensions=extensions
            )
        except httpx.HTTPError as error:
            if fall_through and isinstance(error, httpx.ConnectError):
                raise
            raise DeliveryError(f"{type(error).__name__}: {error}", temporary=True) from None
        return WebhookAnswer(status_code=answer.status_code)

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
