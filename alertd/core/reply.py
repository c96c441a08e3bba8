"""What a text sent back to alertd means. Pure.

"1" or "ACK" acknowledges the newest open alert the sender was told about. STOP (and the
other words carriers treat the same) opts the number out of texts; START opts it back in.
Anything else changes nothing.
"""

from __future__ import annotations

from enum import StrEnum


class Reply(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    STOP = "stop"
    START = "start"
    OTHER = "other"


_WORDS = {
    **dict.fromkeys(("1", "ACK", "ACKNOWLEDGE", "ACKNOWLEDGED"), Reply.ACKNOWLEDGE),
    # The opt-out and opt-in words US carriers and Twilio honour.
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"),
        Reply.STOP,
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP", "OPTIN"), Reply.START),
}


def parse_reply(body: str) -> Reply:
    """The meaning of a reply: its first word, case and punctuation aside."""
    words = body.strip().upper().split()
    if not words:
        return Reply.OTHER
    return _WORDS.get(words[0].strip(".!,;:"), Reply.OTHER)
