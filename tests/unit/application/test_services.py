"""The typed service methods: what each writes, and the job's follow-up events."""

from __future__ import annotations

import pytest

from application.services.base import Origin
from domain.errors import ActionError, InvalidInput, JobError
from domain.session import SYSTEM_LOG
from tests.unit.application.conftest import App


def test_a_run_lifecycle_with_verification_and_tools(app: App) -> None:
    r = app.runs
    r.create_run("s-1", "r-1", requires_verification=True, agent="a", input="go")
    r.start_run("r-1", phase="plan")
    r.call_tool("r-1", "t-1", "search", arguments={"q": "x"})
    r.complete_tool("r-1", "t-1", result={"n": 1})
    r.call_tool("r-1", "t-2", "mail")
    r.fail_tool("r-1", "t-2", "smtp down")
    r.block_tool("r-1", "rm", tool_call_id="t-3", policy="p", reason="danger")
    r.warn_tool("r-1", "ls", tool_call_id="t-4", policy="p2", reason="slow")
    r.think("r-1", content="hmm")
    r.call_tool("r-1", "t-5", "pay")
    r.wait_for_approval("r-1", tool_call_id="t-5", reason="needs ok")
    r.complete_tool("r-1", "t-5")
    r.start_verification("r-1", verifier="v")
    r.fail_verification("r-1", reason="bad")
    r.start_verification("r-1")
    r.pass_verification("r-1", details="fine")
    r.complete_run("r-1", output={"ok": True})
    view = r.get_run("r-1")
    assert (view.status, view.verification, view.verified) == ("completed", "passed", True)
    assert view.requires_verification
    assert view.tool_calls == {
        "t-1": "completed",
        "t-2": "failed",
        "t-3": "blocked",
        "t-5": "completed",
    }
    assert view.open_tool_calls == []
    assert view.started_at is not None and view.finished_at is not None
    assert view.started_at < view.finished_at
    assert (view.run_id, view.session_id, view.version) == ("r-1", "s-1", 17)
    events = app.table.by_run("r-1", 0, 100)
    payloads = {e.type: e.payload for e in reversed(events)}  # the first of each type
    assert payloads["run_created"]["agent"] == "a" and payloads["run_created"]["input"] == "go"
    assert payloads["run_started"]["phase"] == "plan"
    assert payloads["agent.tool_called"]["arguments"] == {"q": "x"}
    assert payloads["agent.tool_failed"]["error"] == "smtp down"
    assert payloads["tool_policy_blocked"] == {
        "tool_name": "rm",
        "tool_call_id": "t-3",
        "policy": "p",
        "reason": "danger",
    }
    assert payloads["tool_policy_warn"]["reason"] == "slow"
    assert payloads["agent.waiting_approval"]["reason"] == "needs ok"
    assert payloads["verify_pass"]["details"] == "fine"
    assert payloads["run_completed"]["output"] == {"ok": True}


def test_waiting_resuming_failing_and_cancelling(app: App) -> None:
    r = app.runs
    r.create_run("s-1", "r-1")
    r.start_run("r-1")
    r.wait_for_input("r-1", prompt="?")
    assert r.get_run("r-1").status == "waiting_input"
    r.resume_run("r-1", input="!")
    r.fail_run("r-1", "boom", error_code="E42")
    view = r.get_run("r-1")
    assert (view.status, view.error) == ("failed", "boom")
    failed = app.table.by_run("r-1", 0, 10)[-1]
    assert failed.payload["error_code"] == "E42"
    r.create_run("s-1", "r-2")
    r.cancel_run("r-2", reason="stop")
    assert r.get_run("r-2").status == "cancelled"
    assert app.table.by_run("r-2", 0, 10)[-1].payload["reason"] == "stop"


def test_a_deal_moves_is_enriched_and_archived(app: App) -> None:
    d = app.deals
    d.create_deal("DL-1", "Acme", stage="screening", display_name="ACME")
    d.update_deal("DL-1", fields={"owner": "zoe"}, display_name="Acme Inc")
    d.move_deal("DL-1", "qualified", reason="fit")
    d.enrich_deal("DL-1", {"size": 10})
    d.archive_deal("DL-1", reason="done")
    view = d.get_deal("DL-1")
    assert (view.stage, view.display_name, view.profile) == ("archived", "Acme Inc", {"size": 10})
    types = [e.type for e in app.table.by_correlation("DL-1", 10, 0)]
    assert types == [
        "deal.created",
        "deal.updated",
        "deal.stage_changed",
        "deal.profile_enriched",
        "deal.archived",
    ]
    events = app.table.by_correlation("DL-1", 10, 0)
    assert events[1].payload["owner"] == "zoe"
    assert events[2].payload == {
        "deal_id": "DL-1",
        "to_stage": "qualified",
        "from_stage": "screening",
        "reason": "fit",
    }
    assert events[4].payload["reason"] == "done"


def test_an_action_is_approved_executed_failed_and_run_again(app: App) -> None:
    a = app.actions
    a.create_action("A-1", "mail", deal_id="DL-1", title="t", max_executions=2, session_id="s-1")
    a.approve("A-1", approved_by="bob", reason="ok")
    a.execute("A-1")
    a.fail("A-1", "bounced")
    a.execute("A-1")
    a.complete("A-1", result={"sent": 1})
    assert a.load("A-1").status == "completed"
    events = [e for e in app.table.after(0, 100) if e.payload.get("action_id") == "A-1"]
    assert [e.type for e in events][:2] == ["action.created", "action.approved"]
    assert events[0].payload["deal_id"] == "DL-1" and events[0].payload["title"] == "t"
    assert events[1].payload == {"action_id": "A-1", "approved_by": "bob", "reason": "ok"}
    a.create_action("A-2", "mail")
    a.reject("A-2", rejected_by="eve", reason="no")
    rejected = app.table.after(0, 100)[-1]
    assert rejected.payload["rejected_by"] == "eve"
    with pytest.raises(ActionError):
        a.execute("A-2")
    a.create_action("A-3", "mail")
    a.quarantine("A-3", reason="odd")
    assert a.load("A-3").status == "quarantined"
    assert app.table.after(0, 100)[-1].payload["reason"] == "odd"


def test_a_failed_job_with_attempts_left_is_retried(app: App) -> None:
    j = app.jobs
    j.enqueue("J-1", "enrich", max_attempts=2, session_id="s-1")
    j.start("J-1", worker_id="w-1")
    failed = j.fail("J-1", "timeout", origin=Origin(source="worker", event_id="f-1"))
    assert [e.type for e in failed.events] == ["worker.job_failed", "worker.job_retrying"]
    retry = failed.events[1]
    assert (retry.causation_id, retry.source) == ("f-1", "worker")
    assert j.load("J-1").status == "retrying"
    again = j.fail("J-1", "timeout", origin=Origin(source="worker", event_id="f-1"))
    assert (len(again.events), again.written) == (1, False)  # a repeat: no second follow-up
    j.start("J-1")
    last = j.fail("J-1", "timeout")
    assert [e.type for e in last.events] == ["worker.job_failed", "worker.job_dlq"]
    assert last.events[1].payload["reason"] == "2 attempts failed"
    assert last.events[1].source == "api"
    assert last.events[1].causation_id == last.events[0].event_id
    assert j.load("J-1").status == "dlq"


def test_a_dead_job_is_requeued_with_its_type_and_attempts(app: App) -> None:
    j = app.jobs
    j.enqueue("J-1", "enrich", max_attempts=1)
    j.start("J-1")
    j.fail("J-1", "x")
    requeued = j.requeue("J-1")
    assert requeued.events[0].payload == {
        "job_id": "J-1",
        "job_type": "enrich",
        "max_attempts": 1,
        "requeued": True,
    }
    job = j.load("J-1")
    assert (job.status, job.attempts) == ("queued", 0)
    j.start("J-1")
    j.complete("J-1", result={"rows": 3})
    assert j.load("J-1").status == "completed"
    assert app.table.by_correlation("J-1", 10, 0)[-1].payload["result"] == {"rows": 3}


def test_manual_retry_and_dead_letter(app: App) -> None:
    j = app.jobs
    j.enqueue("J-1", "enrich", max_attempts=1)
    j.start("J-1")
    with pytest.raises(JobError):
        j.retry("J-1", delay_seconds=1.0)
    j.enqueue("J-2", "enrich", max_attempts=3)
    j.start("J-2")
    j._do("J-2", "worker.job_failed", None, error="x")
    with pytest.raises(JobError, match="attempts are left"):
        j.dead_letter("J-2", reason="give up")
    j.retry("J-2", delay_seconds=2.5)
    assert app.table.by_correlation("J-2", 10, 0)[-1].payload["delay_seconds"] == 2.5


def test_session_events_open_the_session_implicitly(app: App) -> None:
    s = app.sessions
    first = s.record("s-1", "custom.note", {"text": "a"})
    second = s.record("s-1", "custom.note", {"text": "b"}, origin=Origin(event_id="n-2"))
    again = s.record("s-1", "custom.note", {"text": "b"}, origin=Origin(event_id="n-2"))
    assert [e.seq for e in first.events + second.events] == [1, 2]
    assert (again.written, again.events) == (False, second.events)
    system = s.record(None, "system.startup", {})
    assert system.events[0].session_id is None
    assert s.load(SYSTEM_LOG).version == 1
    with pytest.raises(InvalidInput):
        s.record("s-1", "deal.created", {"deal_id": "DL-1", "name": "x"})
