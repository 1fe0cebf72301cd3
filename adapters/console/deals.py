"""Deals: a board with one column per stage, and a deal's page (stage history with the time
spent in each stage, its actions, its events, its state as of any position)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import HTMLResponse

from adapters.console.render import page
from adapters.console.security import PREFIX, Viewer, viewer
from adapters.http.common import Deps
from application.queries import MAX_SEQ
from domain.payloads import DealStage

router = APIRouter(prefix=PREFIX)
Look = Annotated[Viewer, Depends(viewer)]
STAGES: tuple[str, ...] = get_args(DealStage)
PER_COLUMN = 50


@dataclass(frozen=True)
class Stay:
    """A stretch of time a deal spent in one stage."""

    stage: str
    since: datetime
    until: datetime | None  # None: the current stage
    seconds: float
    reason: str | None


def stays(events: list[dict[str, Any]], deal_id: str, now: datetime) -> list[Stay]:
    moves: list[tuple[str, datetime, str | None]] = []
    for event in events:
        payload = event.get("payload") or {}
        if payload.get("deal_id") != deal_id:
            continue
        at = datetime.fromisoformat(str(event["timestamp"]))
        if event["type"] == "deal.created":
            moves.append((str(payload.get("stage", "inbound")), at, None))
        elif event["type"] == "deal.stage_changed":
            moves.append((str(payload["to_stage"]), at, payload.get("reason")))
        elif event["type"] == "deal.archived":
            moves.append(("archived", at, payload.get("reason")))
    result = []
    for n, (stage, since, reason) in enumerate(moves):
        until = moves[n + 1][1] if n + 1 < len(moves) else None
        result.append(Stay(stage, since, until, ((until or now) - since).total_seconds(), reason))
    return result


@router.get("/deals", response_class=HTMLResponse)
def board(request: Request, d: Deps, who: Look) -> HTMLResponse:
    columns = {
        stage: d.queries.list_states("deal", PER_COLUMN, 0, status=stage) for stage in STAGES
    }
    return page(request, "deals.html", who, columns=columns, nav="deals")


@router.get("/deals/{deal_id}", response_class=HTMLResponse)
def deal_page(request: Request, d: Deps, who: Look, deal_id: str) -> HTMLResponse:
    deal = d.deals.get_deal(deal_id)
    events = [e.model_dump(mode="json") for e in d.queries.get_by_correlation_id(deal_id, 1000)]
    own = [e for e in events if (e.get("payload") or {}).get("deal_id") == deal_id]
    own = [e for e in own if str(e["type"]).startswith("deal.")]
    return page(
        request,
        "deal.html",
        who,
        deal=deal,
        state=deal,
        events=events[::-1],
        stays=stays(own, deal_id, datetime.now(UTC)),
        positions=[int(e["position"]) for e in own],
        actions=d.queries.list_states("action", 100, 0, deal_id=deal_id).items,
        at_position=None,
        nav="deals",
    )


@router.get("/deals/{deal_id}/state", response_class=HTMLResponse)
def deal_state(
    request: Request,
    d: Deps,
    who: Look,
    deal_id: str,
    at_position: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
) -> HTMLResponse:
    """As `GET /api/deals/{id}?at_position=`: the deal replayed up to that position."""
    if at_position is None:
        state = d.deals.get_deal(deal_id)
    else:
        state = d.deals.get_deal_at(deal_id, at_position)
    return page(request, "_deal_state.html", who, state=state, at_position=at_position)
