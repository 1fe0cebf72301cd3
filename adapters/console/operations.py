"""Operations: projections (position, lag, parked events; rebuild or retry, operator), the
store in use and the versions; and the Activity page's counters, feed and chart."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse

from adapters.console.render import page
from adapters.console.security import PREFIX, Viewer, acting, viewer
from adapters.console.window import ActivityWindow
from adapters.http.common import Deps
from adapters.http.deps import ApiDeps
from domain.errors import NotFound

router = APIRouter(prefix=PREFIX)
Look = Annotated[Viewer, Depends(viewer)]
Operator = Annotated[Viewer, Depends(acting("operator"))]
PACKAGES = ["zakops-events", "eventsourcing", "fastapi", "pydantic", "psycopg", "htmx.org"]
HTMX_VERSION = "2.0.11"  # static/htmx.min.js (see static/VENDORED.md)
FEED = 25


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = HTMX_VERSION if name == "htmx.org" else "-"
    return found


def counters(d: ApiDeps, window: ActivityWindow) -> dict[str, Any]:
    total = d.queries.list_states
    return {
        "per_minute": window.last_minute(),
        "runs": {
            s: total("run", 1, 0, status=s).total
            for s in ("running", "waiting_input", "queued", "failed")
        },
        "awaiting": total("action", 1, 0, status="created").total,
        "quarantined": total("action", 1, 0, status="quarantined").total,
        "dlq": total("job", 1, 0, status="dlq").total,
        "lag": sum(p.lag() for p in d.projectors),
        "parked": sum(p.parked_count() for p in d.projectors),
    }


def chart(window: ActivityWindow) -> dict[str, Any]:
    minutes = window.minutes()
    domains = sorted({name for m in minutes for name in m.by_domain})
    return {
        "minutes": minutes,
        "domains": domains,
        "peak": max([m.total for m in minutes] + [1]),
        "covers_from": window.covers_from,
    }


def activity_now(request: Request, d: Deps) -> dict[str, Any]:
    """Counters, newest events and the chart, as the page and its 2 s poll show them."""
    window: ActivityWindow = request.app.state.console.window
    window.refresh()
    return {
        "c": counters(d, window),
        "feed": [e.model_dump(mode="json") for e in d.queries.get_recent(FEED)],
        "chart": chart(window),
    }


@router.get("/", response_class=HTMLResponse)
def activity(request: Request, d: Deps, who: Look) -> HTMLResponse:
    return page(request, "activity.html", who, **activity_now(request, d), nav="activity")


@router.get("/activity/live", response_class=HTMLResponse)
def activity_live(request: Request, d: Deps, who: Look) -> HTMLResponse:
    """What the Activity page polls every 2 s: counters, feed and chart in one fragment."""
    return page(request, "_activity_live.html", who, **activity_now(request, d))


@router.get("/operations", response_class=HTMLResponse)
def operations(request: Request, d: Deps, who: Look) -> HTMLResponse:
    return page(
        request,
        "operations.html",
        who,
        projections=[(p.status(), p.dead_letters()[:20]) for p in d.projectors],
        head=d.queries.head(),
        store=request.app.state.console.store,
        versions=versions(),
        nav="operations",
    )


@router.post("/operations/projections/{name}/{verb}", response_class=HTMLResponse)
def projection_command(
    request: Request, d: Deps, who: Operator, name: str, verb: str
) -> HTMLResponse:
    projector = d.projector(name)
    if verb == "rebuild":
        message = f"rebuilt {name} up to position {projector.rebuild()}"
    elif verb == "retry":
        outcome = projector.retry()
        message = f"{outcome.written} written, {outcome.still_parked} still parked"
    else:
        raise NotFound("projection command", verb)
    return page(request, "_notice.html", who, message=message, ok=True)
