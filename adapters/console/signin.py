"""Sign in with an API key, sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from adapters.console.render import page
from adapters.console.security import PREFIX, DigestKeys, check_csrf, csrf_token
from adapters.keys.tokens import MAX_KEY_LENGTH, digest

router = APIRouter(prefix=PREFIX)
Next = Annotated[str, Query(max_length=500)]


def safe_next(target: str) -> str:
    """Only a console path (no other host, no scheme-relative `//x`)."""
    if target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Next = PREFIX + "/") -> HTMLResponse:
    csrf_token(request)
    return page(request, "login.html", None, next=safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    key: Annotated[str, Form(max_length=MAX_KEY_LENGTH)] = "",
    next: Annotated[str, Form(max_length=500)] = PREFIX + "/",
) -> Response:
    keys: DigestKeys = request.app.state.console.keys
    presented = key.strip()
    role = keys.role_of(presented) if presented else None
    if role is None:
        error = "Enter an API key." if not presented else "That key is unknown or was revoked."
        return page(request, "login.html", None, 401, next=safe_next(next), error=error)
    request.session.clear()  # a new session id for a new sign-in: no fixation
    request.session["key"] = digest(presented)
    csrf_token(request)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse(PREFIX + "/login", status_code=303)
