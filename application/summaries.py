"""What each event changes in the state summaries (run list with status, deals by stage...).

The store's recorders write these in the same transaction as the events; the HTTP and CLI
listings read them. The status names are those of the domain lifecycles.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from application.ports import StateRow
from domain import catalog
from domain.action import Action
from domain.deal import Deal
from domain.job import Job
from domain.run import Run

# Derived from the aggregates' declared event classes (their STATUS and VERIFICATION).
RUN_STATUS = catalog.statuses(Run)
VERIFICATION = catalog.verifications()
ACTION_STATUS = catalog.statuses(Action)
JOB_STATUS = catalog.statuses(Job)


def state_change(
    kind: str,
    at: datetime,
    session_id: str | None,
    run_id: str | None,
    payload: dict[str, Any],
) -> StateRow | None:
    """The state row an event of type `kind` changes (merged into the existing row), if any.

    An empty `status` keeps the current one; `data` keys are merged (None values dropped).
    `last_position` is left at 0: the recorder fills in the event's position."""
    row = _state_change(kind, at, session_id, run_id, payload)
    if row is None:
        return None
    return replace(row, data={k: v for k, v in row.data.items() if v is not None})


def _state_change(
    kind: str,
    at: datetime,
    session_id: str | None,
    run_id: str | None,
    payload: dict[str, Any],
) -> StateRow | None:
    position = 0
    data: dict[str, Any] = {}
    if run_id is not None and (kind in RUN_STATUS or kind in VERIFICATION):
        status = RUN_STATUS.get(kind, "")
        if kind == Run.Created.TYPE:
            data = {
                "created_at": at.isoformat(),
                "requires_verification": bool(payload.get("requires_verification", False)),
            }
        elif kind == Run.Started.TYPE:
            data = {"started_at": at.isoformat()}
        elif kind in {Run.Completed.TYPE, Run.Failed.TYPE, Run.Cancelled.TYPE}:
            data = {"finished_at": at.isoformat(), "error": payload.get("error")}
        elif kind in VERIFICATION:
            data = {"verification": VERIFICATION[kind]}
        return StateRow("run", run_id, status, session_id, None, at, position, data)
    if kind.startswith("deal.") and payload.get("deal_id"):
        stage = payload.get("to_stage") or payload.get("stage") or ""
        if kind == Deal.Archived.TYPE:
            stage = "archived"
        for field in ("name", "display_name"):
            if payload.get(field) is not None:
                data[field] = payload[field]
        return StateRow(
            "deal", payload["deal_id"], stage, None, payload["deal_id"], at, position, data
        )
    if kind in ACTION_STATUS and payload.get("action_id"):
        if kind == Action.Created.TYPE:
            data = {"action_type": payload.get("action_type"), "title": payload.get("title")}
        if kind == Action.Failed.TYPE:
            data = {"error": payload.get("error")}
        return StateRow(
            "action",
            payload["action_id"],
            ACTION_STATUS[kind],
            session_id,
            payload.get("deal_id"),
            at,
            position,
            data,
        )
    if kind in JOB_STATUS and payload.get("job_id"):
        if kind == Job.Queued.TYPE:
            data = {
                "job_type": payload.get("job_type"),
                "max_attempts": payload.get("max_attempts"),
            }
        if kind == Job.Failed.TYPE:
            data = {"error": payload.get("error")}
        return StateRow(
            "job",
            payload["job_id"],
            JOB_STATUS[kind],
            session_id,
            None,
            at,
            position,
            data,
        )
    return None
