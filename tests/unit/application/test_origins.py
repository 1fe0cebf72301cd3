"""Every typed command passes on its origin (event id, actor, source, correlation,
causation) and its arguments; the defaults a caller relies on; the retry backoff's bound."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from application.services.base import CommandResult, Origin, Services
from tests.unit.application.conftest import App

Step = tuple[str, Callable[[App, Origin], CommandResult], str, dict[str, Any]]

STEPS: list[Step] = [
    ("run_created", lambda a, o: a.runs.create_run("s-1", "r-1", origin=o), "", {}),
    ("run_started", lambda a, o: a.runs.start_run("r-1", phase="p", origin=o), "", {"phase": "p"}),
    (
        "run_waiting_input",
        lambda a, o: a.runs.wait_for_input("r-1", prompt="?", origin=o),
        "",
        {"prompt": "?"},
    ),
    ("run_resumed", lambda a, o: a.runs.resume_run("r-1", input="i", origin=o), "", {"input": "i"}),
    (
        "verify_start",
        lambda a, o: a.runs.start_verification("r-1", verifier="v", origin=o),
        "",
        {"verifier": "v"},
    ),
    (
        "verify_fail",
        lambda a, o: a.runs.fail_verification("r-1", reason="r", origin=o),
        "",
        {"reason": "r"},
    ),
    ("verify_start", lambda a, o: a.runs.start_verification("r-1", origin=o), "", {}),
    (
        "verify_pass",
        lambda a, o: a.runs.pass_verification("r-1", details="d", origin=o),
        "",
        {"details": "d"},
    ),
    (
        "agent.tool_called",
        lambda a, o: a.runs.call_tool("r-1", "t-1", "search", arguments={"q": 1}, origin=o),
        "",
        {"tool_call_id": "t-1", "tool_name": "search", "arguments": {"q": 1}},
    ),
    (
        "agent.waiting_approval",
        lambda a, o: a.runs.wait_for_approval("r-1", tool_call_id="t-1", reason="ok?", origin=o),
        "",
        {"tool_call_id": "t-1", "reason": "ok?"},
    ),
    (
        "agent.tool_completed",
        lambda a, o: a.runs.complete_tool("r-1", "t-1", result=5, origin=o),
        "",
        {"tool_call_id": "t-1", "result": 5},
    ),
    (
        "agent.tool_called",
        lambda a, o: a.runs.call_tool("r-1", "t-2", "mail", origin=o),
        "",
        {"tool_call_id": "t-2", "tool_name": "mail"},
    ),
    (
        "agent.tool_failed",
        lambda a, o: a.runs.fail_tool("r-1", "t-2", "down", origin=o),
        "",
        {"tool_call_id": "t-2", "error": "down"},
    ),
    (
        "tool_policy_warn",
        lambda a, o: a.runs.warn_tool(
            "r-1", "ls", tool_call_id="t-3", policy="p", reason="r", origin=o
        ),
        "",
        {"tool_name": "ls", "tool_call_id": "t-3", "policy": "p", "reason": "r"},
    ),
    (
        "tool_policy_blocked",
        lambda a, o: a.runs.block_tool(
            "r-1", "rm", tool_call_id="t-4", policy="p", reason="r", origin=o
        ),
        "",
        {"tool_name": "rm", "tool_call_id": "t-4", "policy": "p", "reason": "r"},
    ),
    (
        "agent.thinking",
        lambda a, o: a.runs.think("r-1", content="c", origin=o),
        "",
        {"content": "c"},
    ),
    (
        "run_completed",
        lambda a, o: a.runs.complete_run("r-1", output="out", origin=o),
        "",
        {"output": "out"},
    ),
    ("run_created", lambda a, o: a.runs.create_run("s-1", "r-2", origin=o), "", {}),
    (
        "run_failed",
        lambda a, o: a.runs.fail_run("r-2", "boom", error_code="E1", origin=o),
        "",
        {"error": "boom", "error_code": "E1"},
    ),
    ("run_created", lambda a, o: a.runs.create_run("s-1", "r-3", origin=o), "", {}),
    (
        "run_cancelled",
        lambda a, o: a.runs.cancel_run("r-3", reason="stop", origin=o),
        "",
        {"reason": "stop"},
    ),
    (
        "deal.created",
        lambda a, o: a.deals.create_deal("DL-1", "Acme", display_name="ACME", origin=o),
        "",
        {"deal_id": "DL-1", "name": "Acme", "stage": "inbound", "display_name": "ACME"},
    ),
    (
        "deal.updated",
        lambda a, o: a.deals.update_deal("DL-1", name="B", display_name="BB", origin=o),
        "",
        {"deal_id": "DL-1", "name": "B", "display_name": "BB"},
    ),
    (
        "deal.stage_changed",
        lambda a, o: a.deals.move_deal("DL-1", "screening", reason="fit", origin=o),
        "",
        {"deal_id": "DL-1", "to_stage": "screening", "reason": "fit"},
    ),
    (
        "deal.profile_enriched",
        lambda a, o: a.deals.enrich_deal("DL-1", {"size": 3}, origin=o),
        "",
        {"deal_id": "DL-1", "profile": {"size": 3}},
    ),
    (
        "deal.archived",
        lambda a, o: a.deals.archive_deal("DL-1", reason="gone", origin=o),
        "",
        {"deal_id": "DL-1", "reason": "gone"},
    ),
    (
        "action.created",
        lambda a, o: a.actions.create_action("A-1", "mail", session_id="s-1", origin=o),
        "s-1",
        {"action_id": "A-1", "action_type": "mail", "requires_approval": True, "max_executions": 3},
    ),
    (
        "action.approved",
        lambda a, o: a.actions.approve("A-1", approved_by="bob", reason="ok", origin=o),
        "",
        {"action_id": "A-1", "approved_by": "bob", "reason": "ok"},
    ),
    ("action.executing", lambda a, o: a.actions.execute("A-1", origin=o), "", {"action_id": "A-1"}),
    (
        "action.failed",
        lambda a, o: a.actions.fail("A-1", "bounced", origin=o),
        "",
        {"action_id": "A-1", "error": "bounced"},
    ),
    ("action.executing", lambda a, o: a.actions.execute("A-1", origin=o), "", {}),
    (
        "action.completed",
        lambda a, o: a.actions.complete("A-1", result={"sent": 1}, origin=o),
        "",
        {"action_id": "A-1", "result": {"sent": 1}},
    ),
    ("action.created", lambda a, o: a.actions.create_action("A-2", "mail", origin=o), "", {}),
    (
        "action.rejected",
        lambda a, o: a.actions.reject("A-2", rejected_by="eve", reason="no", origin=o),
        "",
        {"action_id": "A-2", "rejected_by": "eve", "reason": "no"},
    ),
    ("action.created", lambda a, o: a.actions.create_action("A-3", "mail", origin=o), "", {}),
    (
        "action.quarantined",
        lambda a, o: a.actions.quarantine("A-3", reason="odd", origin=o),
        "",
        {"action_id": "A-3", "reason": "odd"},
    ),
    (
        "worker.job_queued",
        lambda a, o: a.jobs.enqueue("J-1", "enrich", max_attempts=1, session_id="s-1", origin=o),
        "s-1",
        {"job_id": "J-1", "job_type": "enrich", "max_attempts": 1},
    ),
    (
        "worker.job_started",
        lambda a, o: a.jobs.start("J-1", worker_id="w", origin=o),
        "",
        {"job_id": "J-1", "worker_id": "w"},
    ),
    (
        "worker.job_completed",
        lambda a, o: a.jobs.complete("J-1", result=[1], origin=o),
        "",
        {"job_id": "J-1", "result": [1]},
    ),
    ("worker.job_queued", lambda a, o: a.jobs.enqueue("J-2", "enrich", origin=o), "", {}),
    ("worker.job_started", lambda a, o: a.jobs.start("J-2", origin=o), "", {}),
    ("worker.job_failed", lambda a, o: a.jobs.fail("J-2", "x", origin=o), "", {"error": "x"}),
    ("worker.job_started", lambda a, o: a.jobs.start("J-2", origin=o), "", {}),
    ("worker.job_failed", lambda a, o: a.jobs.fail("J-2", "x", origin=o), "", {}),
    ("worker.job_started", lambda a, o: a.jobs.start("J-2", origin=o), "", {}),
    ("worker.job_failed", lambda a, o: a.jobs.fail("J-2", "x", origin=o), "", {}),
    (
        "worker.job_queued",
        lambda a, o: a.jobs.enqueue("J-3", "enrich", max_attempts=1, origin=o),
        "",
        {"max_attempts": 1},
    ),
    ("worker.job_started", lambda a, o: a.jobs.start("J-3", origin=o), "", {}),
    (
        "worker.job_failed",
        lambda a, o: a.jobs._do("J-3", "worker.job_failed", o, error="x"),
        "",
        {},
    ),
    (
        "worker.job_dlq",
        lambda a, o: a.jobs.dead_letter("J-3", reason="enough", origin=o),
        "",
        {"job_id": "J-3", "reason": "enough"},
    ),
    (
        "worker.job_queued",
        lambda a, o: a.jobs.enqueue("J-4", "enrich", origin=o),
        "",
        {"max_attempts": 3},
    ),
    ("worker.job_started", lambda a, o: a.jobs.start("J-4", origin=o), "", {}),
    (
        "worker.job_failed",
        lambda a, o: a.jobs._do("J-4", "worker.job_failed", o, error="x"),
        "",
        {},
    ),
    (
        "worker.job_retrying",
        lambda a, o: a.jobs.retry("J-4", delay_seconds=1.5, origin=o),
        "",
        {"job_id": "J-4", "delay_seconds": 1.5},
    ),
    (
        "worker.job_queued",
        lambda a, o: a.jobs.requeue("J-2", origin=o),
        "",
        {"job_id": "J-2", "job_type": "enrich", "max_attempts": 3, "requeued": True},
    ),
    (
        "custom.note",
        lambda a, o: a.sessions.record("s-2", "custom.note", {"text": "t"}, origin=o),
        "s-2",
        {"text": "t"},
    ),
]


def test_every_command_carries_its_origin_and_arguments(app: App) -> None:
    for index, (type_name, command, session_id, payload) in enumerate(STEPS):
        origin = Origin(
            event_id=f"o-{index}", source="cli", actor="alice", correlation_id="c", causation_id="k"
        )
        result = command(app, origin)
        first = result.events[0]
        assert first.type == type_name, index
        assert (first.event_id, first.source, first.actor) == (f"o-{index}", "cli", "alice"), index
        assert (first.correlation_id, first.causation_id) == ("c", "k"), index
        if session_id:
            assert first.session_id == session_id, index
        for key, value in payload.items():
            assert first.payload.get(key) == value, (index, key)
        again = command(app, origin)  # given ids make every command repeatable
        assert (again.written, again.events[0]) == (False, first), index


def test_a_repeated_requeue_returns_the_original(app: App) -> None:
    app.jobs.enqueue("J-1", "enrich", max_attempts=1)
    app.jobs.start("J-1")
    app.jobs.fail("J-1", "x")  # dead-lettered
    first = app.jobs.requeue("J-1", origin=Origin(event_id="rq-1"))
    again = app.jobs.requeue("J-1", origin=Origin(event_id="rq-1"))
    assert (again.written, again.events) == (False, first.events)


def test_the_retry_backoff_grows_and_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[Any] = []
    monkeypatch.setattr(random, "uniform", lambda low, high: (low, high))
    monkeypatch.setattr(time, "sleep", slept.append)
    for attempt in range(7):
        Services.backoff(None, attempt)  # type: ignore[arg-type]  # reads nothing of self
    assert slept == [
        (0, 0.002),
        (0, 0.004),
        (0, 0.008),
        (0, 0.016),
        (0, 0.032),
        (0, 0.05),
        (0, 0.05),
    ]
