"""The console's own security: a signed session cookie per browser (Starlette's
SessionMiddleware, itsdangerous), CSRF tokens on every form, and a Content-Security-Policy
without inline scripts or styles on every console response.

The session holds the SHA-256 digest of the key that signed in (never the key) and the CSRF
token; the role is looked up from the digest on every request, so revoking a key ends its
console sessions at once."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.keys.tokens import RANK, Role

PREFIX = "/console"
COOKIE = "zakops_console"
SESSION_SECONDS = 12 * 3600
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
STATIC_HEADERS = {**HEADERS, "cache-control": "public, max-age=3600"}


class DigestKeys(Protocol):
    """The key ring as the console needs it: by key (sign-in) and by digest (each request)."""

    def role_of(self, presented: str) -> Role | None: ...

    def role_of_digest(self, sha256: str) -> Role | None: ...


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class ConsoleSessions:
    """Session cookies and security headers for console paths only (the API is untouched).
    The cookie is HttpOnly, SameSite=Strict, scoped to /console, and Secure when the request
    came over https (uvicorn sets the scheme from a trusted proxy's X-Forwarded-Proto)."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.plain = sessions(app, secret, https_only=False)
        self.secure = sessions(app, secret, https_only=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = STATIC_HEADERS if scope["path"].startswith(PREFIX + "/static/") else HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                found = MutableHeaders(scope=message)
                for name, value in headers.items():
                    found.setdefault(name, value)
            await send(message)

        chosen = self.secure if scope.get("scheme") == "https" else self.plain
        await chosen(scope, receive, send_with_headers)


def sessions(app: ASGIApp, secret: str, https_only: bool) -> SessionMiddleware:
    return SessionMiddleware(
        app,
        secret_key=secret,
        session_cookie=COOKIE,
        max_age=SESSION_SECONDS,
        path=PREFIX,
        same_site="strict",
        https_only=https_only,
    )


class SignInRequired(Exception):
    """No session, or its key was revoked: the page sends the browser to the sign-in form."""


class NotAllowed(Exception):
    """A signed-in key whose role is too low, or a form without its CSRF token: 403."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the role of the signed-in key and the session's CSRF token."""

    role: Role
    csrf: str
    digest: str

    def can(self, needed: Role) -> bool:
        return RANK[self.role] >= RANK[needed]

    @property
    def actor(self) -> str:
        return f"console:{self.role}:{self.digest[:12]}"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use: the sign-in form needs one too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def viewer_of(request: Request) -> Viewer:
    keys: DigestKeys = request.app.state.console.keys
    digest = request.session.get("key")
    role = keys.role_of_digest(digest) if isinstance(digest, str) else None
    if role is None or not isinstance(digest, str):
        request.session.pop("key", None)
        raise SignInRequired
    return Viewer(role, csrf_token(request), digest)


async def viewer(request: Request) -> Viewer:  # async: no I/O, so no thread-pool hop
    return viewer_of(request)


async def check_csrf(request: Request) -> None:
    """A state-changing request must carry the session's token, as the `X-CSRF-Token`
    header (htmx, see static/console.js) or the `csrf` form field."""
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    if not isinstance(expected, str) or given is None:
        raise NotAllowed("this form has expired or was not sent by the console; reload the page")
    if not secrets.compare_digest(expected.encode(), given.encode()):
        raise NotAllowed("this form has expired or was not sent by the console; reload the page")


def acting(needed: Role) -> Callable[[Request], Awaitable[Viewer]]:
    """A dependency for console commands: signed in, the CSRF token, then the role."""

    async def check(request: Request) -> Viewer:
        found = viewer_of(request)
        await check_csrf(request)
        if not found.can(needed):
            raise NotAllowed(f"this key has the {found.role} role; this needs {needed}")
        return found

    return check
