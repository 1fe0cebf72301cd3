"""Templates (Jinja2, autoescaped) and the filters the pages share."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from adapters.console.security import PREFIX, Viewer, csrf_token
from domain.errors import UnknownEventType
from domain.taxonomy import resolve

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def domain_of(type_name: str) -> str:
    """The taxonomy's domain of a type (colours and filters use it)."""
    try:
        return resolve(type_name).domain
    except UnknownEventType:
        return "custom"


def ago(moment: datetime | str | None, now: datetime | None = None) -> str:
    """`12 s ago`, `5 min ago`, `3 h ago`, `2 d ago` (the exact time goes in a title)."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def exact(moment: datetime | str | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


templates.env.filters.update(
    domain=domain_of, ago=ago, exact=exact, duration=duration, pretty=pretty
)
templates.env.globals.update(prefix=PREFIX)


def page(
    request: Request,
    name: str,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A rendered template with what every page needs: who is looking, the CSRF token."""
    context.update(viewer=viewer, csrf=csrf_token(request), request=request)
    return templates.TemplateResponse(request, name, context, status_code=status_code)
