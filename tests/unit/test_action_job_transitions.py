"""Action approval flow and Job retries, table-driven."""

from __future__ import annotations

import pytest

from domain.errors import ActionError, JobError
from tests.unit.builders import (
    action_command,
    action_in,
    job_command,
    job_in,
    new_action,
    recorded,
    snapshot_state,
)

ACTION_ALLOWED = {
    "created": {"approve", "reject", "quarantine"},
    "approved": {"execute"},
    "quarantined": {"approve", "reject"},
    "executing": {"complete", "fail"},
    "failed": {"execute"},
    "rejected": set(),
    "completed": set(),
}
ACTION_NEXT = {
    "approve": "approved",
    "reject": "rejected",
    "quarantine": "quarantined",
    "execute": "executing",
    "complete": "completed",
    "fail": "failed",
}
ACTION_CASES = [(s, c) for s in ACTION_ALLOWED for c in ACTION_NEXT]


@pytest.mark.parametrize(("status", "command"), ACTION_CASES)
def test_action_every_command_in_every_status(status: str, command: str) -> None:
    action = action_in(status)
    before = snapshot_state(action)
    if command in ACTION_ALLOWED[status]:
        action_command(action, command)
        assert action.status == ACTION_NEXT[command]
    else:
        with pytest.raises(ActionError) as refused:
            action_command(action, command)
        assert refused.value.current == status
        assert snapshot_state(action) == before


def test_action_without_approval_may_execute_straight_away() -> None:
    action = new_action(requires_approval=False)
    action_command(action, "execute")
    assert action.status == "executing"


def test_action_reexecution_is_bounded() -> None:
    action = new_action(max_executions=2)
    for step in ["approve", "execute", "fail", "execute", "fail"]:
        action_command(action, step)
    with pytest.raises(ActionError, match="executed 2 times"):
        action_command(action, "execute")
    assert action.executions == 2


JOB_ALLOWED = {
    "queued": {"start"},
    "started": {"complete", "fail"},
    "failed": {"retry"},
    "failed_final": {"dead_letter"},
    "retrying": {"start"},
    "dlq": {"requeue"},
    "completed": set(),
}
JOB_NEXT = {
    "start": "started",
    "complete": "completed",
    "fail": "failed",
    "retry": "retrying",
    "dead_letter": "dlq",
    "requeue": "queued",
}
JOB_CASES = [(s, c) for s in JOB_ALLOWED for c in JOB_NEXT]


@pytest.mark.parametrize(("status", "command"), JOB_CASES)
def test_job_every_command_in_every_status(status: str, command: str) -> None:
    job = job_in(status)
    before = snapshot_state(job)
    if command in JOB_ALLOWED[status]:
        job_command(job, command)
        assert job.status == JOB_NEXT[command]
    else:
        with pytest.raises(JobError):
            job_command(job, command)
        assert snapshot_state(job) == before


def test_job_retries_then_dead_letters_then_operator_requeues() -> None:
    job = job_in("dlq")
    assert job.attempts == 2
    assert job.attempts_left == 0
    job_command(job, "requeue")
    assert (job.status, job.attempts) == ("queued", 0)
    event = recorded(job)[-1]
    assert event.event_type == "worker.job_queued"
    assert event.payload.model_dump()["requeued"] is True
