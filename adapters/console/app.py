"""`mount_console(app, ...)`: the console's routes, static files, session cookies, security
headers and error pages, added to the API's app (entrypoints/asgi.py calls it)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from adapters.console import deals, operations, runs, signin, timeline, work
from adapters.console.render import HERE, domain_of, page
from adapters.console.security import (
    PREFIX,
    ConsoleSessions,
    DigestKeys,
    NotAllowed,
    SignInRequired,
    is_console,
    viewer_of,
)
from adapters.console.window import ActivityWindow
from adapters.http.deps import ApiDeps
from adapters.http.problems import TooManyStreams
from domain.errors import DomainError

Handler = Callable[[Request, Exception], Awaitable[Response]]
AnyHandler = Callable[[Request, Any], Response | Awaitable[Response]]  # as Starlette keeps them


@dataclass(frozen=True)
class ConsoleState:
    keys: DigestKeys
    window: ActivityWindow
    store: dict[str, str]  # what the Operations page says about the store in use


def mount_console(
    app: FastAPI, deps: ApiDeps, keys: DigestKeys, secret: str, store: dict[str, str]
) -> None:
    """The console under /console. The API's `Authenticate` must let /console through
    (`ApiDeps.own_auth_paths`): every console route checks the session cookie itself."""
    app.state.console = ConsoleState(keys, ActivityWindow(deps.queries, domain_of), store)
    for module in (signin, operations, timeline, runs, deals, work):
        app.include_router(module.router, include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.add_exception_handler(SignInRequired, to_sign_in)
    app.add_exception_handler(NotAllowed, not_allowed)
    for kind in (DomainError, RequestValidationError, StarletteHTTPException, TooManyStreams):
        app.add_exception_handler(kind, as_html(app.exception_handlers[kind]))
    app.add_middleware(ConsoleSessions, secret=secret)


async def to_sign_in(request: Request, _: Exception) -> Response:
    target = f"{PREFIX}/login"
    if request.method == "GET" and request.url.path != PREFIX + "/":
        target += "?next=" + request.url.path
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, status: int, message: str) -> Response:
    try:
        who = viewer_of(request)
    except SignInRequired:
        who = None
    if request.headers.get("hx-request"):  # shown in the page's notice area
        response = page(request, "_notice.html", who, status, message=message, ok=False)
        response.headers.update({"HX-Retarget": "#notices", "HX-Reswap": "afterbegin"})
        return response
    return page(request, "error.html", who, status, message=message, code=status)


async def not_allowed(request: Request, error: Exception) -> Response:
    return error_page(request, 403, str(error))


def as_html(api: AnyHandler) -> Handler:
    """The API's handler decides the status and the words; console paths get them as HTML."""

    async def handle(request: Request, error: Exception) -> Response:
        answer = api(request, error)
        if inspect.isawaitable(answer):
            answer = await answer
        assert isinstance(answer, Response)
        if not is_console(request.url.path):
            return answer
        detail = json.loads(bytes(answer.body)).get("detail", "") or answer.status_code
        return error_page(request, answer.status_code, str(detail))

    return handle
