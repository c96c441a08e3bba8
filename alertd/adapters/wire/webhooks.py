"""Wire models of the outbound webhooks API (`/v1/webhooks`), version 1.

What a receiver gets is described apart: the body is `{"type", "timestamp", "data"}` where
`data` is the stream message of that type (`schemas/messages/<Type>Message.schema.json`),
signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alertd.core.webhook import DESCRIPTION_MAX, URL_MAX, AttemptOutcome, WebhookState


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class WebhookIn(_In):
    """Subscribe an endpoint. The secret is generated unless given, and shown only once."""

    url: str = Field(max_length=URL_MAX, description="https:// (http:// in dev mode)")
    event_types: list[str] = Field(
        default_factory=list, max_length=50, description="event types; empty: every type"
    )
    school_ids: list[str] | None = Field(
        default=None, max_length=100, description="null: every school you act for"
    )
    description: str = Field(default="", max_length=DESCRIPTION_MAX)
    secret: str | None = Field(default=None, description="whsec_ + base64; default: generated")


class WebhookChangeIn(_In):
    url: str | None = Field(default=None, max_length=URL_MAX)
    event_types: list[str] | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    state: Literal[WebhookState.ACTIVE, WebhookState.PAUSED] | None = Field(
        default=None, description="active resumes a paused subscription (failures reset)"
    )


class WebhookOut(_Out):
    id: str
    url: str
    event_types: list[str] = Field(description="empty: every type")
    school_ids: list[str] | None = Field(description="null: the whole district")
    description: str
    state: WebhookState
    consecutive_failures: int
    last_error: str | None
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="verify signatures with it; it is not shown again")


class WebhookList(_Out):
    webhooks: list[WebhookOut]


class WebhookAttemptOut(_Out):
    id: int
    message_id: str = Field(description="the webhook-id header: the same on every attempt")
    event_id: int
    event_type: str
    attempted_at: datetime
    outcome: AttemptOutcome
    status_code: int | None
    error: str | None
    duration_ms: int
    manual: bool = Field(description="a redelivery an admin asked for")


class WebhookAttemptList(_Out):
    attempts: list[WebhookAttemptOut] = Field(description="newest first")


class RedeliveryOut(_Out):
    message_id: str
    queued: bool


HTTP_MODELS: tuple[type[BaseModel], ...] = (
    WebhookIn,
    WebhookChangeIn,
    WebhookOut,
    WebhookCreated,
    WebhookList,
    WebhookAttemptOut,
    WebhookAttemptList,
    RedeliveryOut,
)
