"""The one error tree of alertd. Only the HTTP and stream adapters map these to codes.

    AlertdError
    ├── ValidationFailed      input that can never succeed as sent (names the field)
    │   └── Malformed         a body that does not even parse (an SDP offer): 400
    ├── NotFound              the thing named does not exist (or is not visible)
    ├── IllegalTransition     the command does not apply in the alert's current state
    ├── IdempotencyConflict   an Idempotency-Key reused with a different request
    ├── Unauthenticated       no credentials, or credentials that do not check out
    ├── Forbidden             a known principal that may not do this
    └── TooManyAttempts       sign-in back-off: wait `retry_after` seconds, then try again

None of these is temporary, except TooManyAttempts: retrying the same request gives the
same answer.
"""

from __future__ import annotations


class AlertdError(Exception):
    """The root of every error that alertd raises on purpose."""

    code = "alertd_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(AlertdError):
    """A value is wrong as given; `field` names it the way the client sent it."""

    code = "validation_failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Malformed(ValidationFailed):
    """The body cannot be read at all as what it claims to be (an SDP offer that does not
    parse): 400 rather than 422."""

    code = "malformed"


class NotFound(AlertdError):
    """Nothing of `what` has the given id."""

    code = "not_found"

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} not found")
        self.what = what
        self.ident = ident


class IllegalTransition(AlertdError):
    """The command is not allowed from the alert's current state, which it names."""

    code = "illegal_transition"

    def __init__(
        self,
        *,
        action: str,
        current_state: str,
        reason: str | None = None,
        cause: str | None = None,
    ) -> None:
        message = f"cannot {action} an alert that is {current_state}"
        if reason:
            message = f"{message}: {reason}"
        super().__init__(message)
        self.action = action
        self.current_state = current_state
        self.cause = cause  # a stable code for why, where one helps a client (roll_not_kept)


class IdempotencyConflict(AlertdError):
    """The Idempotency-Key was already used for a request with a different body."""

    code = "idempotency_key_reused"


class Unauthenticated(AlertdError):
    """Who is asking is unknown. The message never repeats the credentials it was given.

    `field` names the one missing part when only that is missing (a second-factor code).
    """

    code = "unauthenticated"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Forbidden(AlertdError):
    """The principal may see the thing but not do this to it."""

    code = "forbidden"


class TooManyAttempts(AlertdError):
    """Too many failed sign-ins for this username: nothing was checked. Retry after
    `retry_after` seconds."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} s")
        self.retry_after = retry_after
