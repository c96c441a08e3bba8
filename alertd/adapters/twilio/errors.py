"""Twilio's error codes in plain English, and which ones are worth another try.

Permanent errors are recorded and never retried (an invalid or unsubscribed number will not
get better in a minute). Temporary ones (429, 5xx, timeouts) are retried with backoff, on
another sender if there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class TwilioError:
    code: int | None
    reason: str
    permanent: bool


# code -> (what a dispatcher is told, permanent?)
KNOWN: Mapping[int, tuple[str, bool]] = MappingProxyType(
    {
        20003: ("Twilio refused the account's credentials", False),
        20429: ("too many requests to Twilio at once", False),
        21211: ("not a valid phone number", True),
        21214: ("not a phone number that can be called", True),
        21217: ("not a valid phone number", True),
        21408: ("the account may not send to this region", True),
        21606: ("the sending number cannot send texts", False),
        21610: ("the recipient replied STOP (unsubscribed)", True),
        21612: ("Twilio cannot route a text to this number", True),
        21614: ("not a mobile number (cannot receive texts)", True),
        30001: ("Twilio's queue for the sender overflowed", False),
        30002: ("the Twilio account is suspended", True),
        30003: ("unreachable: the phone is off or out of coverage", True),
        30004: ("the recipient blocked the message", True),
        30005: ("unknown number: it does not exist", True),
        30006: ("a landline or unreachable carrier: it cannot receive texts", True),
        30007: ("the carrier filtered the message as spam", True),
        30008: ("the carrier reported an unknown error", True),
        30034: ("the sending number is not registered for US texting (10DLC)", True),
        13224: ("not a valid phone number to call", True),
        13227: ("the account may not call this country", True),
    }
)


def classify(*, status: int | None, code: int | None, message: str = "") -> TwilioError:
    """An API error as alertd treats it. `status` None: no answer (a timeout, a network
    error). Unknown codes: 429 and 5xx are temporary, other 4xx permanent."""
    if code is not None and code in KNOWN:
        reason, permanent = KNOWN[code]
        return TwilioError(code, reason, permanent)
    if status is None:
        return TwilioError(code, message or "no answer from Twilio", False)
    if status == 429 or status >= 500:
        return TwilioError(code, message or f"Twilio answered {status}", False)
    return TwilioError(code, message or f"Twilio refused the request ({status})", True)


def reason_for(code: int | None) -> str | None:
    """The plain-English reason for an error code in a status callback."""
    if code is None:
        return None
    known = KNOWN.get(code)
    return known[0] if known else f"Twilio error {code}"
