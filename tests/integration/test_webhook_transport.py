"""The webhook transport connects only to the addresses it is given, in order, and still
names the host (Host header); against a real loopback receiver."""

from __future__ import annotations

import ipaddress

import pytest

from alertd.adapters.webhook.http import HttpxWebhookTransport
from alertd.app.ports import DeliveryError
from alertd.testing.webhook_receiver import webhook_receiver

# The receiver listens on 127.0.0.1 only: at its port, 127.0.0.2 refuses the connection.
REFUSING = ipaddress.ip_address("127.0.0.2")
RECEIVER = ipaddress.ip_address("127.0.0.1")


async def test_an_address_that_refuses_gives_way_to_the_next_and_the_host_keeps_its_name() -> None:
    transport = HttpxWebhookTransport(timeout_seconds=5)
    try:
        async with webhook_receiver() as receiver:
            port = receiver.url.split(":")[2].split("/")[0]
            url = f"http://hooks.vendor.test:{port}/hooks/alertd"  # no DNS knows this name
            answer = await transport.post(
                url, body="{}", headers={}, addresses=[REFUSING, RECEIVER]
            )
            assert answer.status_code == 204
            [received] = receiver.received
            assert received.headers["host"] == f"hooks.vendor.test:{port}"
            with pytest.raises(DeliveryError) as refused:
                await transport.post(url, body="{}", headers={}, addresses=[REFUSING])
            assert refused.value.temporary and "ConnectError" in str(refused.value)
            assert len(receiver.received) == 1
    finally:
        await transport.close()
