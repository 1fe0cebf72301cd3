"""The session page: its timeline newest first, older events on scroll, live over SSE.

A page shows the newest `PAGE` events (seq is dense, so the newest are one indexed read
however long the session is); scrolling down fetches the page before the oldest shown. A
filter by run uses the (session, run, seq) index; a filter by domain or type is applied to
windows of `SCAN` seqs read backwards, at most `MAX_SCAN` seqs per request, so a rare type
costs a few more scrolls instead of one long request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import HTMLResponse, Response

from adapters.console.render import domain_of, page, templates
from adapters.console.security import PREFIX, Viewer, viewer
from adapters.http.common import Deps
from adapters.http.deps import ApiDeps
from adapters.http.streams import adapt, open_stream, start_from
from application.queries import MAX_SEQ
from domain.envelope import Envelope
from domain.taxonomy import REGISTRY

router = APIRouter(prefix=PREFIX)
Look = Annotated[Viewer, Depends(viewer)]
PAGE = 50
SCAN = 1000
MAX_SCAN = 20_000
DOMAINS = sorted({spec.domain for spec in REGISTRY.values()})
TYPES = sorted(REGISTRY)
Text = Annotated[str | None, Query(max_length=64)]
Seq = Annotated[int | None, Query(ge=0, le=MAX_SEQ)]


@dataclass(frozen=True)
class Filter:
    run: str | None = None
    domain: str | None = None
    type: str | None = None

    @classmethod
    def of(cls, run: str | None, domain: str | None, type: str | None) -> Filter:
        return cls(run or None, domain or None, type or None)

    def keeps(self, event: dict[str, Any]) -> bool:
        if self.type and event["type"] != self.type:
            return False
        return not (self.domain and domain_of(event["type"]) != self.domain)

    @property
    def narrow(self) -> bool:
        return bool(self.domain or self.type)

    def query(self, **more: int) -> str:
        given = {"run": self.run, "domain": self.domain, "type": self.type, **more}
        return urlencode({k: v for k, v in given.items() if v})


def events_before(
    d: ApiDeps, session_id: str, before: int, f: Filter
) -> tuple[list[dict[str, Any]], int]:
    """Up to PAGE events with seq < `before`, newest first, and the seq to continue below
    (0 when the start of the session was reached)."""
    found: list[dict[str, Any]] = []
    low = before  # every seq from `low` up to `before` has been looked at
    while low > 1 and before - low < MAX_SCAN:
        width = SCAN if (f.run or f.narrow) else PAGE
        since = max(0, low - 1 - width)
        batch = d.queries.get_events_by_session(session_id, since, width, f.run)
        high, low = low, since + 1
        for envelope in reversed(batch):
            seq = envelope.seq or 0
            event = envelope.model_dump(mode="json")
            if seq < high and f.keeps(event):
                found.append(event)
                if len(found) == PAGE:
                    return found, seq
    return found, (low if low > 1 else 0)


def row(event: dict[str, Any]) -> str:
    """One timeline row, as the live stream sends it (highlighted when it arrives)."""
    return templates.get_template("_event.html").render(e=event, prefix=PREFIX, fresh=True)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(
    request: Request,
    d: Deps,
    who: Look,
    session_id: str,
    run: Text = None,
    domain: Text = None,
    type: Text = None,
) -> HTMLResponse:
    f = Filter.of(run, domain, type)
    summary = d.queries.get_session(session_id)
    events, more = events_before(d, session_id, summary.last_seq + 1, f)
    return page(
        request,
        "session.html",
        who,
        session=summary,
        events=events,
        more=more,
        f=f,
        domains=DOMAINS,
        types=TYPES,
        stream=f"{PREFIX}/sessions/{session_id}/stream?{f.query()}",
    )


@router.get("/sessions/{session_id}/events", response_class=HTMLResponse)
def older_events(
    request: Request,
    d: Deps,
    who: Look,
    session_id: str,
    before: Annotated[int, Query(ge=1, le=MAX_SEQ)],
    run: Text = None,
    domain: Text = None,
    type: Text = None,
) -> HTMLResponse:
    f = Filter.of(run, domain, type)
    events, more = events_before(d, session_id, before, f)
    return page(request, "_events.html", who, session_id=session_id, events=events, more=more, f=f)


@router.get("/sessions/{session_id}/stream")
async def live_events(
    request: Request,
    d: Deps,
    who: Look,
    session_id: str,
    since_seq: Seq = None,
    run: Text = None,
    domain: Text = None,
    type: Text = None,
) -> Response:
    """The session's SSE stream: the API's stream (`open_stream`: replay from the store,
    then the live hub; id = seq, Last-Event-ID wins over since_seq), each event sent as its
    timeline row; events the page's filter hides are not sent."""
    f = Filter.of(run, domain, type)
    after = start_from(request.headers.get("last-event-id"), since_seq)

    def replay(seq: int, limit: int) -> list[Envelope]:
        return d.queries.get_events_by_session(session_id, seq, limit, f.run)

    def shape(kind: str, data: str) -> tuple[str, str] | None:
        event = json.loads(data)
        if not f.keeps(event) or (f.run and event.get("run_id") != f.run):
            return None
        return "event", row(event)

    live = open_stream(
        request, replay, after, session_id=session_id, holder=f"console:{who.digest}", shape=shape
    )
    return adapt(live)
