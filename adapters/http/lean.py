"""The hottest route, `POST /api/events`, served ahead of the framework's routing.

A request to it passes through the same layers as a routed one: the framework's crash
handler, the app's own middleware built from the same list (the request id, metrics and
the access line; the key; the body's size and type), and the app's exception handlers
around the route's function. What it skips is the per-request work of the framework that
this route does not use: matching the request against some sixty routes, FastAPI's
telemetry, body-limit and exit-stack layers, dependency resolution and the response model
(the route reads its body and builds its response itself). That was about half of what a
write cost the event loop (architecture.md). Every other request goes through the whole
app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class LeanRoutes:
    """Routes whose function takes the request and returns the response (no parameters,
    no dependencies, no response model), each served behind the app's user middleware and
    answered by its exception handlers on error."""

    def __init__(self, app: FastAPI, routes: list[APIRoute]) -> None:
        self._served: dict[tuple[str, str], ASGIApp] = {}
        # as the app splits them: a crash is answered outside the user middleware
        handlers = app.exception_handlers
        crash = handlers.get(Exception, handlers.get(500))
        handled = {k: v for k, v in handlers.items() if k not in (500, Exception)}
        for route in routes:
            served: ASGIApp = ExceptionMiddleware(
                _Endpoint(route), handlers=handled, debug=app.debug
            )
            for cls, args, kwargs in reversed(app.user_middleware):  # as the app builds it
                served = cls(served, *args, **kwargs)
            served = ServerErrorMiddleware(served, handler=crash, debug=app.debug)
            for method in route.methods or ():
                self._served[(method, route.path)] = served

    def find(self, scope: Scope) -> ASGIApp | None:
        if scope["type"] != "http":
            return None
        return self._served.get((scope["method"], scope["path"]))


class _Endpoint:
    def __init__(self, route: APIRoute) -> None:
        self.route = route
        self.endpoint: Endpoint = route.endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route  # the metrics' label, as routing would set it
        scope["endpoint"] = self.endpoint
        scope["path_params"] = {}
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)
