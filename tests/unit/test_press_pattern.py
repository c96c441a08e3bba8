"""Press patterns and the bridge's envelope (clients/button_bridge), without a broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.device_signature import DeviceSecrets, SignatureCheck, SignedRequest, check
from clients.button_bridge.envelope import EnvelopeRefused, parse, request_topic, signed_envelope
from clients.button_bridge.pattern import Press, PressPatterns, presses

DEFAULT = PressPatterns()


@pytest.mark.parametrize(("count", "kinds"), [
    (1, []), (2, []), (3, ["staff_assist"]), (5, ["staff_assist"]), (8, ["lockdown"]),
    (12, ["lockdown"]),
])  # fmt: skip
def test_default_patterns(count: int, kinds: list[str]) -> None:
    assert DEFAULT.kinds(presses(count)) == kinds


def test_a_long_press_is_a_lockdown_and_bounce_is_not_a_press() -> None:
    assert DEFAULT.kinds([Press(0, 3200)]) == ["lockdown"]
    bouncy = [Press(0, 100), Press(110, 130), Press(400, 500), Press(505, 520), Press(800, 900)]
    assert DEFAULT.debounce(bouncy) == [Press(0, 130), Press(400, 520), Press(800, 900)]
    assert DEFAULT.kinds(bouncy) == ["staff_assist"]


def test_gestures_split_on_a_pause_and_patterns_load_from_json() -> None:
    two_runs = presses(3) + presses(3, start_ms=10_000)
    assert DEFAULT.kinds(two_runs) == ["staff_assist", "staff_assist"]
    custom = PressPatterns.from_json(json.dumps({
        "counts": [{"presses": 2, "kind": "medical"}], "long_press": {"held_ms": 1000,
                                                                        "kind": "secure"},
    }))  # fmt: skip
    assert custom.kinds(presses(2)) == ["medical"]
    assert custom.kinds([Press(0, 1500)]) == ["secure"]
    with pytest.raises(ValueError, match="unknown alert kind"):
        PressPatterns.from_json('{"counts": [{"presses": 3, "kind": "party"}]}')


def test_an_envelope_carries_exactly_what_the_server_checks() -> None:
    now = datetime.now(UTC)
    envelope = signed_envelope(device_id="btn-1", secret="s3cret", path="/v1/alerts",
                               body={"kind": "lockdown", "school_id": "x"}, now=now)  # fmt: skip
    carried = parse(request_topic("btn-1"), envelope.to_json())
    request = SignedRequest("btn-1", carried.method, carried.path, carried.timestamp,
                            carried.nonce, carried.body.encode())  # fmt: skip
    verdict = check(request, signature=carried.signature, secrets=DeviceSecrets("s3cret"),
                    now=now, max_skew=timedelta(seconds=30))  # fmt: skip
    assert verdict is SignatureCheck.OK


@pytest.mark.parametrize("why", ["other topic", "wrong path", "not json"])
def test_the_bridge_drops_what_no_device_request_looks_like(why: str) -> None:
    envelope = signed_envelope(device_id="btn-1", secret="s", path="/v1/alerts", body={},
                               now=datetime.now(UTC))  # fmt: skip
    topic, payload = request_topic("btn-1"), envelope.to_json()
    if why == "other topic":
        topic = request_topic("btn-2")  # a device may not speak for another
    elif why == "wrong path":
        payload = payload.replace(b"/v1/alerts", b"/v1/users")
    else:
        payload = b"{not json"
    with pytest.raises(EnvelopeRefused):
        parse(topic, payload)
