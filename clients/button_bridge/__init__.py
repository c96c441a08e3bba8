"""The hardware button bridge: wall buttons and badges speak MQTT, alertd speaks HTTP.

Trust, in one sentence: the bridge carries requests that the DEVICE signed, byte for byte,
and alertd checks the device's signature; the bridge holds no device secret, so it can never
pose as a wall button, and a forged or replayed message is refused by alertd and raises
nothing. See `envelope` for the MQTT message, `pattern` for press patterns (decided on the
device, which signs the result), `buffer` for the on-disk queue, `bridge` for the loops.
"""

from clients.button_bridge.bridge import Bridge, BridgeConfig
from clients.button_bridge.buffer import DeliveryBuffer
from clients.button_bridge.envelope import Envelope, EnvelopeRefused, request_topic
from clients.button_bridge.pattern import Press, PressPatterns

__all__ = [
    "Bridge",
    "BridgeConfig",
    "DeliveryBuffer",
    "Envelope",
    "EnvelopeRefused",
    "Press",
    "PressPatterns",
    "request_topic",
]
