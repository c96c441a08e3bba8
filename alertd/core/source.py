"""Where an alert was raised from: the staff app, a wall button, a badge, the console ...

Dispatchers weigh an alert by it (a wall button is pressed in its room; a badge moves with a
person). A device's source is its kind, set from its signed identity; a person states theirs,
and may never claim to be a device (that would be posing as a wall button).
"""

from __future__ import annotations

from enum import StrEnum


class AlertSource(StrEnum):
    APP = "app"  # the staff or SRO app
    WALL_BUTTON = "wall_button"
    BADGE = "badge"
    KIOSK = "kiosk"
    CONSOLE = "console"  # the dispatch console
    API = "api"  # an integration, or a client that did not say

    @property
    def is_device(self) -> bool:
        return self in DEVICE_SOURCES


# Only a signed device raises as one of these (their values are the device kinds).
DEVICE_SOURCES = frozenset({AlertSource.WALL_BUTTON, AlertSource.BADGE, AlertSource.KIOSK})
