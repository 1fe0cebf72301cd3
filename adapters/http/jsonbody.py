"""Request bodies parsed as JSON with a bound on nesting, on every route.

Python's `json.loads` recurses once per nesting level: a body nested a few thousand levels
deep makes it fail with `RecursionError` deep in the stack (where any finaliser that runs
fails too). pydantic-core's parser is faster and stops at `MAX_NESTING` levels. What it
refuses that Python's parser accepts (a lone surrogate escape, `\\ud800`) is read with
`json.loads`, so that the validation that follows names the field, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic_core import from_json

MAX_NESTING = 200  # pydantic-core's own limit
TOO_DEEP = "recursion limit exceeded"


class NestedTooDeep(json.JSONDecodeError):
    """Raised as a JSON decode error, so FastAPI answers it as malformed JSON."""


def parse_json(raw: bytes) -> Any:
    try:
        return from_json(raw)
    except ValueError as error:
        if TOO_DEEP in str(error):
            text = raw.decode("utf-8", "replace")
            raise NestedTooDeep(f"nested deeper than {MAX_NESTING} levels", text, 0) from None
    return json.loads(raw)


def too_deep(message: str) -> bool:
    return TOO_DEEP in message


class _JsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """FastAPI's documented hook for a custom request class: bodies parse with
    `parse_json`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_bounded_json(request: Request) -> Response:
            return await handler(_JsonRequest(request.scope, request.receive))

        return with_bounded_json
