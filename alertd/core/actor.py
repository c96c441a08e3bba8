"""Who is acting: a person or a device, as seen by the domain."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    USER = "user"
    DEVICE = "device"
    SYSTEM = "system"
    CONTACT = "contact"  # someone reached by text or call (an agency, an SRO's phone)


@dataclass(frozen=True, slots=True)
class Actor:
    """The principal behind a command. Recorded on every transition.

    `role` is a plain string here; the permissions table (a later layer of the core)
    gives it meaning.
    """

    id: str
    name: str
    kind: ActorKind = ActorKind.USER
    role: str = "dev"
