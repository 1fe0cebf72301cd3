"""Bearer API keys with three roles: reader < writer < operator."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

Role = Literal["reader", "writer", "operator"]
RANK: dict[str, int] = {"reader": 1, "writer": 2, "operator": 3}


class Unauthorized(Exception):
    """No key, or a key we do not know: 401."""


class Forbidden(Exception):
    """A known key whose role is too low: 403."""

    def __init__(self, role: str, needed: str) -> None:
        super().__init__(f"this key has the {role} role; this operation needs {needed}")


@dataclass(frozen=True)
class KeyRing:
    """The configured keys (secret -> role). Comparison is constant-time."""

    keys: tuple[tuple[str, Role], ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Role]]) -> KeyRing:
        return cls(tuple(pairs))

    def role_of(self, presented: str) -> Role | None:
        found: Role | None = None
        for secret, role in self.keys:
            if hmac.compare_digest(secret.encode(), presented.encode()):
                found = role
        return found


bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


def authorize(request: Request, needed: Role, presented: str | None) -> Role:
    """The role of the presented key, which must be at least `needed` (else `Unauthorized`
    or `Forbidden`); remembered on the request for the access log."""
    secret = (presented or "").strip()
    if not secret:
        raise Unauthorized("missing bearer API key")
    keys: KeyRing = request.app.state.deps.keys
    role = keys.role_of(secret)
    if role is None:
        raise Unauthorized("unknown API key")
    if RANK[role] < RANK[needed]:
        raise Forbidden(role, needed)
    request.state.role = role
    return role


def bearer_of(request: Request) -> str | None:
    """The credentials of an `Authorization: Bearer ...` header (None without one)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials if scheme.lower() == "bearer" else None


def require(needed: Role) -> Callable[..., Awaitable[Role]]:
    """A FastAPI dependency: the request's key must have at least the `needed` role.

    `async` because it does no I/O: FastAPI then runs it on the event loop instead of
    handing it to the thread pool (a hop that cost more than the check itself)."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Role:
        return authorize(request, needed, credentials.credentials if credentials else None)

    return check
