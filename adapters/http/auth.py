"""Bearer API keys with three roles: reader < writer < operator.

`Authenticate` (pure ASGI middleware) answers 401 before anything reads the body, so a
client without a known key learns nothing from how its request is parsed; `require` (a route
dependency) then checks the role (403)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.keys.tokens import RANK, Role

__all__ = [
    "RANK",
    "Authenticate",
    "Forbidden",
    "Keys",
    "Role",
    "Unauthorized",
    "authorize",
    "bearer_of",
    "require",
]

ALWAYS_PUBLIC = frozenset({"/healthz", "/readyz"})
DOCS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


class Keys(Protocol):
    def role_of(self, presented: str) -> Role | None: ...


class Unauthorized(Exception):
    """No key, or a key we do not know: 401."""


class Forbidden(Exception):
    """A known key whose role is too low: 403."""

    def __init__(self, role: str, needed: str) -> None:
        super().__init__(f"this key has the {role} role; this operation needs {needed}")


def bearer_credentials(authorization: str | None) -> str | None:
    """The credentials of an `Authorization: Bearer ...` header value (None without one)."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def identify(keys: Keys, presented: str | None) -> Role:
    """The role of a presented key, or Unauthorized."""
    secret = (presented or "").strip()
    if not secret:
        raise Unauthorized("missing bearer API key")
    role = keys.role_of(secret)
    if role is None:
        raise Unauthorized("unknown API key")
    return role


def public_paths(*, metrics: bool, docs: bool) -> frozenset[str]:
    """Paths answered without a key: health and readiness, and what the settings open."""
    return ALWAYS_PUBLIC | ({"/metrics"} if metrics else set()) | (DOCS if docs else set())


class Authenticate:
    """Every request outside `public` needs a known key, checked before the app runs.
    Paths under a prefix of `own_auth` (the console, which signs its users in with a session
    cookie and checks it on every route) are left to their own check."""

    def __init__(
        self, app: ASGIApp, keys: Keys, public: Collection[str], own_auth: Collection[str] = ()
    ) -> None:
        self.app = app
        self.keys = keys
        self.public = frozenset(public)
        self.own_auth = tuple(own_auth)

    def passes(self, path: str) -> bool:
        return path in self.public or any(
            path == prefix or path.startswith(prefix + "/") for prefix in self.own_auth
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.passes(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        try:
            role = identify(
                self.keys, bearer_credentials(header.decode("latin-1") if header else None)
            )
        except Unauthorized as error:
            await _unauthorized(scope, send, str(error))
            return
        scope.setdefault("state", {})["role"] = role
        await self.app(scope, receive, send)


async def _unauthorized(scope: Scope, send: Send, detail: str) -> None:
    problem = {
        "type": "https://zakops.dev/problems/unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": detail,
        "instance": scope["path"],
        "request_id": scope.get("state", {}).get("request_id"),
    }
    body = json.dumps({k: v for k, v in problem.items() if v is not None}).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b"Bearer"),
    ]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def authorize(request: Request, needed: Role, presented: str | None) -> Role:
    """The request's role, which must be at least `needed` (else `Forbidden`); remembered on
    the request for the access log. `Authenticate` has identified the key already; without it
    (an app assembled without the middleware) the presented key is identified here."""
    role: Role | None = getattr(request.state, "role", None)
    if role is None:
        role = identify(request.app.state.deps.keys, presented)
    if RANK[role] < RANK[needed]:
        raise Forbidden(role, needed)
    request.state.role = role
    return role


def bearer_of(request: Request) -> str | None:
    """The credentials of the request's `Authorization: Bearer ...` header."""
    return bearer_credentials(request.headers.get("authorization"))


scheme = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


def require(needed: Role) -> Callable[..., Awaitable[Role]]:
    """A FastAPI dependency: the request's key must have at least the `needed` role.

    `async` because it does no I/O: FastAPI then runs it on the event loop instead of
    handing it to the thread pool (a hop that cost more than the check itself)."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(scheme)],
    ) -> Role:
        return authorize(request, needed, credentials.credentials if credentials else None)

    return check
