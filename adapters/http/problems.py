"""Errors as `application/problem+json` (RFC 9457): one place maps error types to statuses."""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.http.auth import Forbidden, Unauthorized
from domain.envelope import invalid_input
from domain.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    DomainError,
    EventIdConflict,
    InvalidInput,
    NotFound,
    TransitionRefused,
    UnknownEventType,
)

PROBLEM = "application/problem+json"
RETRY_AFTER_SECONDS = 2
log = logging.getLogger("zakops.http")


class TooManyStreams(Exception):
    """The key has as many streams open as it may: 429."""


class Problem(BaseModel):
    """RFC 9457 problem details, with our extension members."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    field: str | None = None
    reason: str | None = None
    current_state: str | None = None
    attempted_event: str | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": title, "content": {PROBLEM: {}}}
    for status, title in [
        (400, "Malformed request"),
        (401, "Missing or unknown API key"),
        (403, "The key's role does not allow this"),
        (404, "Not found"),
        (409, "Refused transition or conflict"),
        (413, "Request body too large"),
        (415, "Unsupported content type"),
        (422, "Invalid input"),
        (429, "Too many streams open for this key"),
        (503, "Written, but not yet visible, or store unavailable"),
    ]
}


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = Problem(
        type=f"https://zakops.dev/problems/{title.lower().replace(' ', '-')}",
        title=title,
        status=status,
        detail=detail,
        instance=str(request.url.path),
        request_id=getattr(request.state, "request_id", None),
        **extra,
    )
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 500:
        # After an unhandled error the server closes the connection: say so, so that a
        # client does not send its next request on a connection that is going away.
        headers["Connection"] = "close"
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM, headers=headers
    )


def _domain(request: Request, error: DomainError) -> JSONResponse:
    if isinstance(error, UnknownEventType):
        return problem(
            request,
            422,
            "Unknown event type",
            str(error),
            field=error.field,
            reason=error.reason,
            valid_types=error.valid,
        )
    if isinstance(error, InvalidInput):
        return problem(
            request, 422, "Invalid input", str(error), field=error.field, reason=error.reason
        )
    if isinstance(error, NotFound):
        return problem(request, 404, "Not found", str(error))
    if isinstance(error, TransitionRefused):
        return problem(
            request,
            409,
            "Transition refused",
            str(error),
            current_state=error.current,
            attempted_event=error.attempted,
        )
    if isinstance(error, EventIdConflict | AlreadyExists | ConcurrencyConflict):
        return problem(request, 409, "Conflict", str(error))
    return problem(request, 422, "Refused", str(error))


def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
    first = error.errors()[0] if error.errors() else {}
    skip = {"body", "query", "path", "header", "single", "batch"}
    where = [str(p) for p in first.get("loc", ()) if p not in skip]
    field = ".".join(where) or "body"
    reason = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":
        return problem(request, 400, "Malformed JSON", reason, field="body", reason=reason)
    return problem(request, 422, "Invalid input", f"{field}: {reason}", field=field, reason=reason)


def install(app: FastAPI) -> None:
    async def on_domain(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DomainError)
        return _domain(request, error)

    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return _validation(request, error)

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        titles = {
            400: "Malformed request",
            404: "Not found",
            405: "Method not allowed",
            413: "Request body too large",
            415: "Unsupported content type",
        }
        return problem(
            request,
            error.status_code,
            titles.get(error.status_code, "HTTP error"),
            str(error.detail),
        )

    async def on_unauthorized(request: Request, error: Exception) -> JSONResponse:
        return problem(request, 401, "Unauthorized", str(error))

    async def on_forbidden(request: Request, error: Exception) -> JSONResponse:
        return problem(request, 403, "Forbidden", str(error))

    async def on_crash(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"request_id": request.state.request_id})
        return problem(request, 500, "Internal error", "see the server log for this request")

    async def on_model(request: Request, error: Exception) -> JSONResponse:
        # A value object refused input the request models let through: still bad input.
        assert isinstance(error, ValidationError)
        return _domain(request, invalid_input(error))

    async def on_store_down(request: Request, error: Exception) -> JSONResponse:
        log.warning("store unavailable: %s", error, extra={"request_id": request.state.request_id})
        return problem(
            request,
            503,
            "Store unavailable",
            "the event store did not answer; try again (a write repeated with the same "
            "Idempotency-Key or event_id is stored once)",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def on_too_many_streams(request: Request, error: Exception) -> JSONResponse:
        return problem(request, 429, "Too many streams", str(error), headers={"Retry-After": "5"})

    app.add_exception_handler(TooManyStreams, on_too_many_streams)
    app.add_exception_handler(OperationalError, on_store_down)
    app.add_exception_handler(InterfaceError, on_store_down)
    app.add_exception_handler(ValidationError, on_model)
    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Unauthorized, on_unauthorized)
    app.add_exception_handler(Forbidden, on_forbidden)
    app.add_exception_handler(Exception, on_crash)
