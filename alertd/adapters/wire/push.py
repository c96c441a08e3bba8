"""Wire models of Web Push subscriptions (/v1/push)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p256dh: str = Field(min_length=1, max_length=128, description="base64url P-256 point")
    auth: str = Field(min_length=1, max_length=64, description="base64url 16-byte secret")


class PushSubscriptionIn(BaseModel):
    """The browser's PushSubscription (its toJSON()), as the app sends it."""

    # A browser's toJSON() also carries expirationTime: accepted, not kept.
    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=1, max_length=2000)
    keys: PushKeys


class PushKeyOut(BaseModel):
    public_key: str = Field(description="VAPID application server key, base64url")


class PushSubscriptionOut(BaseModel):
    device_id: str
    endpoint: str
