"""The Python client of alertd: `AlertdClient` (blocking) and `AsyncAlertdClient` (asyncio).

Both raise, acknowledge, update, resolve and cancel alerts, and follow the stream with
resume. Raising retries with one Idempotency-Key. Errors: `AlertdError` (a refusal; its
`field` names the input at fault) and `Unreachable` (no answer after every retry).
The command line is `alertd-client` (`clients.python.cli`).
"""

from clients.python.asynchronous import AsyncAlertdClient
from clients.python.request import AlertdError, RetryPolicy, Unreachable
from clients.python.synchronous import AlertdClient

__all__ = ["AlertdClient", "AlertdError", "AsyncAlertdClient", "RetryPolicy", "Unreachable"]
