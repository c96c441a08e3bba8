"""Password hashing with argon2id (argon2-cffi's defaults, which follow RFC 9106).

Every function here is CPU-bound on purpose (tens of milliseconds): call them from a worker
thread (`asyncio.to_thread`), never on the event loop or the database writer thread.
"""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """An encoded argon2id hash (salt and parameters included) of `password`."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether `password` matches `stored_hash`. A malformed hash is a mismatch, not an error."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether `stored_hash` was made with weaker parameters than today's; rehash on login."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return hash_password("not a password anyone has")


def spend_verify_time(password: str) -> None:
    """Take as long as a real verification, for an unknown user: the answer's timing must
    not tell whether a username exists."""
    verify_password(_dummy_hash(), password)


class Argon2Passwords:
    """Implements `alertd.app.account_ports.PasswordHasher`, each call on a worker thread."""

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(hash_password, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.to_thread(verify_password, password_hash, password)

    async def spend_verify_time(self, password: str) -> None:
        await asyncio.to_thread(spend_verify_time, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return needs_rehash(password_hash)
