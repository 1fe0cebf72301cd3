"""What each event changes in the state summaries (application/summaries.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.ports import StateRow
from application.summaries import state_change

AT = datetime(2026, 2, 6, 10, 0, tzinfo=UTC)


def row(kind: str, key: str, status: str, **data: object) -> StateRow:
    return StateRow(kind, key, status, None, None, AT, 0, dict(data))


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("run_waiting_input", "waiting_input"),
        ("run_resumed", "running"),
        ("run_completed", "completed"),
        ("run_failed", "failed"),
        ("run_cancelled", "cancelled"),
    ],
)
def test_run_statuses(kind: str, status: str) -> None:
    change = state_change(kind, AT, "s-1", "r-1", {"error": "boom"})
    assert change is not None
    assert (change.kind, change.key, change.status, change.session_id) == (
        "run",
        "r-1",
        status,
        "s-1",
    )
    assert (change.deal_id, change.updated_at, change.last_position) == (None, AT, 0)


def test_run_data() -> None:
    created = state_change("run_created", AT, "s-1", "r-1", {"requires_verification": True})
    assert created == StateRow(
        "run",
        "r-1",
        "queued",
        "s-1",
        None,
        AT,
        0,
        {"created_at": AT.isoformat(), "requires_verification": True},
    )
    plain = state_change("run_created", AT, "s-1", "r-1", {})
    assert plain is not None and plain.data["requires_verification"] is False
    started = state_change("run_started", AT, "s-1", "r-1", {})
    assert started is not None and started.data == {"started_at": AT.isoformat()}
    for finished in ("run_completed", "run_cancelled"):
        change = state_change(finished, AT, "s-1", "r-1", {})
        assert change is not None and change.data == {"finished_at": AT.isoformat()}
    failed = state_change("run_failed", AT, "s-1", "r-1", {"error": "boom"})
    assert failed is not None and failed.data == {"finished_at": AT.isoformat(), "error": "boom"}
    resumed = state_change("run_resumed", AT, "s-1", "r-1", {"error": "x"})
    assert resumed is not None and resumed.data == {}


@pytest.mark.parametrize(
    ("kind", "verification"),
    [("verify_start", "open"), ("verify_pass", "passed"), ("verify_fail", "failed")],
)
def test_verification_keeps_the_status(kind: str, verification: str) -> None:
    change = state_change(kind, AT, "s-1", "r-1", {})
    assert change is not None
    assert (change.status, change.data) == ("", {"verification": verification})


def test_run_events_without_a_run_or_of_other_types_change_nothing() -> None:
    assert state_change("run_started", AT, "s-1", None, {}) is None
    assert state_change("agent.thinking", AT, "s-1", "r-1", {}) is None
    assert state_change("custom.note", AT, "s-1", None, {"deal_id": "DL-1"}) is None


def test_deals() -> None:
    created = state_change("deal.created", AT, None, None, {"deal_id": "DL-1", "stage": "inbound"})
    assert created == StateRow("deal", "DL-1", "inbound", None, "DL-1", AT, 0, {})
    named = state_change(
        "deal.updated", AT, None, None, {"deal_id": "DL-1", "name": "A", "display_name": "B"}
    )
    assert named is not None
    assert (named.status, named.data) == ("", {"name": "A", "display_name": "B"})
    moved = state_change(
        "deal.stage_changed", AT, None, None, {"deal_id": "DL-1", "to_stage": "won", "stage": "x"}
    )
    assert moved is not None and moved.status == "won"
    archived = state_change("deal.archived", AT, None, None, {"deal_id": "DL-1", "stage": "x"})
    assert archived is not None and archived.status == "archived"
    assert state_change("deal.updated", AT, None, None, {"name": "A"}) is None


def test_actions() -> None:
    created = state_change(
        "action.created",
        AT,
        "s-1",
        None,
        {"action_id": "A-1", "action_type": "mail", "title": "Hi", "deal_id": "DL-1"},
    )
    assert created == StateRow(
        "action", "A-1", "created", "s-1", "DL-1", AT, 0, {"action_type": "mail", "title": "Hi"}
    )
    failed = state_change("action.failed", AT, None, None, {"action_id": "A-1", "error": "x"})
    assert failed is not None and (failed.status, failed.data) == ("failed", {"error": "x"})
    approved = state_change("action.approved", AT, None, None, {"action_id": "A-1", "error": "x"})
    assert approved is not None and (approved.status, approved.data) == ("approved", {})
    assert state_change("action.approved", AT, None, None, {}) is None


def test_jobs() -> None:
    queued = state_change(
        "worker.job_queued", AT, "s-1", None, {"job_id": "J-1", "job_type": "t", "max_attempts": 2}
    )
    assert queued == StateRow(
        "job", "J-1", "queued", "s-1", None, AT, 0, {"job_type": "t", "max_attempts": 2}
    )
    failed = state_change("worker.job_failed", AT, None, None, {"job_id": "J-1", "error": "x"})
    assert failed is not None and (failed.status, failed.data) == ("failed", {"error": "x"})
    dead = state_change("worker.job_dlq", AT, None, None, {"job_id": "J-1", "error": "x"})
    assert dead is not None and (dead.status, dead.data) == ("dlq", {})
    assert state_change("worker.job_started", AT, None, None, {}) is None
