"""Effects: what must happen in the world after a command commits. Imperative names.

They are written to the outbox in the same transaction as the events, and run after commit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SendSms:
    """Text one recipient about one alert. `drill` travels with it so a sender can re-check."""

    alert_id: str
    recipient_id: str
    to: str
    body: str
    drill: bool


Effect = SendSms
