"""Twilio as the settings describe it: the gateway, the webhook tokens, the start-up word."""

from __future__ import annotations

import logging
from pathlib import Path

from alertd.adapters.metrics import Metrics
from alertd.adapters.twilio.gateway import Account, TwilioGateway
from alertd.core.delivery import masked
from alertd.settings import Settings

logger = logging.getLogger(__name__)


def twilio_gateway(settings: Settings, metrics: Metrics) -> TwilioGateway | None:
    """Twilio with the configured account (and the fallback account, if any); None when
    Twilio is not configured (texts then go to the SMS outbox file)."""
    if not settings.twilio_configured():
        return None
    accounts = [
        Account(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_senders(),
        )
    ]
    if settings.twilio_fallback_account_sid and settings.twilio_fallback_senders():
        accounts.append(
            Account(
                settings.twilio_fallback_account_sid,
                settings.twilio_fallback_auth_token.get_secret_value(),
                settings.twilio_fallback_senders(),
            )
        )
    return TwilioGateway(
        accounts=accounts,
        public_url=settings.resolved_public_url(),
        api_base=settings.twilio_api_base or None,
        validity_seconds=settings.twilio_validity_seconds,
        timeout_seconds=settings.twilio_timeout_seconds,
        metrics=metrics,
        rate=settings.twilio_rate_per_sender,
    )


def webhook_tokens(settings: Settings) -> list[str]:
    """The auth tokens a webhook may be signed with (both during a rotation)."""
    tokens = [
        settings.twilio_auth_token.get_secret_value(),
        settings.twilio_auth_token_secondary.get_secret_value(),
        settings.twilio_fallback_auth_token.get_secret_value(),
    ]
    return [t for t in tokens if t]


def announce_provider(gateway: TwilioGateway | None, *, outbox: Path) -> None:
    """Say plainly at start-up whether texts are really sent."""
    if gateway is None:
        logger.warning(
            "Twilio is not configured: texts and calls are RECORDED in %s and NOT SENT to "
            "anyone (set ALERTD_TWILIO_ACCOUNT_SID, ALERTD_TWILIO_AUTH_TOKEN and "
            "ALERTD_TWILIO_FROM or ALERTD_TWILIO_MESSAGING_SERVICE_SID to send them)",
            outbox,
        )
        return
    senders = gateway.pool.senders
    logger.warning(
        "Twilio is configured: texts and calls are SENT from %d sender(s) (%s) of %d "
        "account(s); status callbacks go to %s",
        len(senders),
        ", ".join(masked(s.address) for s in senders),
        len({s.account for s in senders}),
        gateway.status_callback,
    )
    if not any(s.is_number for s in senders):
        logger.warning("no Twilio number is configured (ALERTD_TWILIO_FROM): calls will fail")
