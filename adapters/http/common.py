"""Small helpers shared by the route modules."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Request

from adapters.http.auth import require
from adapters.http.deps import ApiDeps
from adapters.http.problems import PROBLEM_RESPONSES
from domain.errors import InvalidInput

Reader = [Depends(require("reader"))]
Writer = [Depends(require("writer"))]
Operator = [Depends(require("operator"))]
ERRORS = PROBLEM_RESPONSES

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        description="Becomes the event_id: a repeat returns the original with 200",
    ),
]


def idempotency_key(request: Request) -> str | None:
    """The `Idempotency-Key` header of a route that reads it by hand (the emit route): the
    same bounds as the `IdempotencyKey` parameter of the others."""
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 100:
        raise InvalidInput("Idempotency-Key", "must have 1 to 100 characters")
    return key


async def deps(request: Request) -> ApiDeps:  # async: no I/O, so no thread-pool hop
    found: ApiDeps = request.app.state.deps
    return found


Deps = Annotated[ApiDeps, Depends(deps)]

MAX_WINDOW_DAYS = 36_500
_WINDOW = re.compile(r"^(\d{1,7})([smhd]?)$")


def parse_window(window: str | None) -> timedelta | None:
    """`90s`, `30m`, `24h`, `7d` or plain seconds."""
    if window is None:
        return None
    match = _WINDOW.match(window.strip())
    if match is None:
        raise InvalidInput("window", "use a number with s, m, h or d, e.g. 24h")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    seconds = int(match.group(1)) * unit
    if seconds > MAX_WINDOW_DAYS * 86400:
        raise InvalidInput("window", f"must be at most {MAX_WINDOW_DAYS}d; omit it for all time")
    return timedelta(seconds=seconds)
