"""The edge where errors become HTTP answers. Every 4xx body is an `ErrorBody` JSON object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from alertd.adapters.http.response import OrjsonResponse
from alertd.app.ports import Unavailable
from alertd.core.errors import (
    AlertdError,
    Forbidden,
    IdempotencyConflict,
    IllegalTransition,
    Malformed,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    ValidationFailed,
)

_STATUS: dict[type[AlertdError], int] = {
    ValidationFailed: 422,
    Malformed: 400,
    NotFound: 404,
    IllegalTransition: 409,
    IdempotencyConflict: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    TooManyAttempts: 429,
}


def error_response(
    status: int, code: str, message: str, *, field: str | None = None, **extra: Any
) -> OrjsonResponse:
    body: dict[str, Any] = {"error": code, "message": message, "field": field}
    body.update({k: v for k, v in extra.items() if v is not None})
    return OrjsonResponse(body, status_code=status)


def _field_of(location: Sequence[Any]) -> str:
    """('body', 'room_id') -> 'room_id'; ('header', 'idempotency-key') -> 'Idempotency-Key'."""
    parts = [str(p) for p in location]
    if parts and parts[0] == "header":
        return "-".join(w.capitalize() for w in parts[-1].split("-"))
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _on_alertd_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, AlertdError)
    status = _STATUS.get(type(error), 400)
    field = getattr(error, "field", None)
    if isinstance(error, IdempotencyConflict):
        field = "Idempotency-Key"
    current = error.current_state if isinstance(error, IllegalTransition) else None
    cause = error.cause if isinstance(error, IllegalTransition) else None
    wait = error.retry_after if isinstance(error, TooManyAttempts) else None
    response = error_response(
        status,
        error.code,
        error.message,
        field=field,
        current_state=current,
        cause=cause,
        retry_after=wait,
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if wait is not None:
        response.headers["Retry-After"] = str(wait)
    return response


async def _on_validation_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    first = problems[0] if problems else {"loc": ("body",), "msg": "invalid request"}
    field = _field_of(first.get("loc", ("body",)))
    if first.get("type") == "json_invalid":
        field = "body"
    details = [
        {"field": _field_of(p.get("loc", ())), "message": p.get("msg", ""), "type": p.get("type")}
        for p in problems
    ]
    message = f"{field}: {first.get('msg', 'invalid')}"
    return error_response(422, "validation_failed", message, field=field, details=details)


async def _on_http_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
        error.status_code, "http_error"
    )
    return error_response(error.status_code, code, str(error.detail))


RETRY_AFTER_SECONDS = 2


async def _on_unavailable(_request: Request, error: Exception) -> Response:
    assert isinstance(error, Unavailable)
    message = (
        f"{error.dependency} is not answering: retry in a moment (an alert retried with the "
        "same Idempotency-Key is raised once)"
    )
    response = error_response(503, "unavailable", message, dependency=error.dependency)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AlertdError, _on_alertd_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Unavailable, _on_unavailable)
