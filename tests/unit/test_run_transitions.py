"""Every allowed and every refused transition of the Run, table-driven."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain import payloads as p
from domain.errors import (
    InvalidInput,
    RunAlreadyFinished,
    RunError,
    ToolCallRefused,
    VerificationGateClosed,
)
from domain.run import Run
from tests.unit.builders import AT, meta, new_run, recorded, run_in, snapshot_state

Command = Callable[[Run], object]

COMMANDS: dict[str, Command] = {
    "run_started": lambda r: r.start(meta(), AT),
    "run_waiting_input": lambda r: r.wait_for_input(meta(), AT),
    "run_resumed": lambda r: r.resume(meta(), AT),
    "run_completed": lambda r: r.complete(meta(), AT),
    "run_failed": lambda r: r.fail(meta(), AT, p.RunFailedPayload(error="boom")),
    "run_cancelled": lambda r: r.cancel(meta(), AT),
    "verify_start": lambda r: r.start_verification(meta(), AT),
    "tool_policy_warn": lambda r: r.warn_tool(meta(), AT, p.ToolPolicyPayload(tool_name="sh")),
    "tool_policy_blocked": lambda r: r.block_tool(meta(), AT, p.ToolPolicyPayload(tool_name="sh")),
    "agent.tool_called": lambda r: r.call_tool(
        meta(), AT, p.ToolCalledPayload(tool_call_id="t-new", tool_name="search")
    ),
    "agent.thinking": lambda r: r.think(meta(), AT),
    "agent.waiting_approval": lambda r: r.wait_for_approval(meta(), AT),
}

# The lifecycle of DESIGN.md, written out independently of the implementation.
ALLOWED: dict[str, set[str]] = {
    "queued": {"run_started", "run_failed", "run_cancelled"},
    "running": {
        "run_waiting_input",
        "run_completed",
        "run_failed",
        "run_cancelled",
        "verify_start",
        "tool_policy_warn",
        "tool_policy_blocked",
        "agent.tool_called",
        "agent.thinking",
        "agent.waiting_approval",
    },
    "waiting_input": {"run_resumed", "run_failed", "run_cancelled"},
    "completed": set(),
    "failed": set(),
    "cancelled": set(),
}
NEXT_STATUS = {
    "run_started": "running",
    "run_waiting_input": "waiting_input",
    "run_resumed": "running",
    "run_completed": "completed",
    "run_failed": "failed",
    "run_cancelled": "cancelled",
}
CASES = [(status, name) for status in ALLOWED for name in COMMANDS]


@pytest.mark.parametrize(("status", "name"), CASES)
def test_every_command_in_every_status(status: str, name: str) -> None:
    run = run_in(status)
    before = snapshot_state(run)
    pending = len(run.pending_events)
    if name in ALLOWED[status]:
        applied = COMMANDS[name](run)
        assert getattr(applied, "new", False) is True
        assert recorded(run)[-1].event_type == name
        assert run.status == NEXT_STATUS.get(name, status)
    else:
        expected = (
            RunAlreadyFinished if status in {"completed", "failed", "cancelled"} else RunError
        )
        with pytest.raises(expected) as refused:
            COMMANDS[name](run)
        assert refused.value.current == status
        assert refused.value.attempted == name
        assert snapshot_state(run) == before
        assert len(run.pending_events) == pending


def test_create_requires_run_and_session() -> None:
    with pytest.raises(InvalidInput, match="run_id"):
        Run.create(meta(session_id="s"), AT)
    with pytest.raises(InvalidInput, match="session_id"):
        Run.create(meta(run_id="r"), AT)


def test_events_carry_run_and_session_and_default_correlation() -> None:
    run = run_in("running")
    event = recorded(run)[-1]
    assert event.meta.run_id == "run-1"
    assert event.meta.session_id == "sess-1"
    assert event.meta.correlation_id == "run-1"


def test_event_for_another_run_is_refused() -> None:
    run = run_in("queued")
    with pytest.raises(InvalidInput, match="run_id"):
        run.start(meta(run_id="other"), AT)


class TestVerifyGate:
    def test_completion_refused_while_verification_open(self) -> None:
        run = run_in("running")
        run.start_verification(meta(), AT)
        with pytest.raises(VerificationGateClosed, match="still open"):
            run.complete(meta(), AT)

    def test_completion_refused_after_failed_verification_until_a_pass(self) -> None:
        run = run_in("running")
        run.start_verification(meta(), AT)
        run.fail_verification(meta(), AT)
        with pytest.raises(VerificationGateClosed, match="failed"):
            run.complete(meta(), AT)
        run.start_verification(meta(), AT)
        run.pass_verification(meta(), AT)
        assert run.complete(meta(), AT).new
        assert run.status == "completed"

    def test_required_verification_refuses_completion_before_any_pass(self) -> None:
        run = run_in("running", requires_verification=True)
        with pytest.raises(VerificationGateClosed, match="requires"):
            run.complete(meta(), AT)
        run.start_verification(meta(), AT)
        run.pass_verification(meta(), AT)
        run.complete(meta(), AT)
        assert run.status == "completed"

    def test_second_verify_start_refused_while_open(self) -> None:
        run = run_in("running")
        run.start_verification(meta(), AT)
        with pytest.raises(RunError, match="already open"):
            run.start_verification(meta(), AT)

    @pytest.mark.parametrize("close", ["pass_verification", "fail_verification"])
    def test_pass_or_fail_needs_an_open_verification(self, close: str) -> None:
        run = run_in("running")
        with pytest.raises(RunError, match="no verification is open"):
            getattr(run, close)(meta(), AT)

    def test_verify_refused_while_waiting_for_input(self) -> None:
        run = run_in("waiting_input")
        with pytest.raises(RunError):
            run.start_verification(meta(), AT)


class TestToolCalls:
    def _called(self, call_id: str = "t-1") -> Run:
        run = run_in("running")
        run.call_tool(meta(), AT, p.ToolCalledPayload(tool_call_id=call_id, tool_name="search"))
        return run

    def test_open_complete(self) -> None:
        run = self._called()
        assert run.open_tool_calls == ["t-1"]
        run.complete_tool(meta(), AT, p.ToolCompletedPayload(tool_call_id="t-1", result=[1]))
        assert run.tool_calls == {"t-1": "completed"}

    def test_open_fail(self) -> None:
        run = self._called()
        run.fail_tool(meta(), AT, p.ToolFailedPayload(tool_call_id="t-1", error="timeout"))
        assert run.tool_calls == {"t-1": "failed"}

    def test_tool_call_id_unique_per_run(self) -> None:
        run = self._called()
        run.complete_tool(meta(), AT, p.ToolCompletedPayload(tool_call_id="t-1"))
        with pytest.raises(ToolCallRefused, match="already used"):
            run.call_tool(meta(), AT, p.ToolCalledPayload(tool_call_id="t-1", tool_name="x"))

    def test_same_tool_call_id_in_another_run_is_fine(self) -> None:
        first, second = self._called(), new_run(run_id="run-2")
        second.start(meta(), AT)
        second.call_tool(meta(), AT, p.ToolCalledPayload(tool_call_id="t-1", tool_name="x"))
        assert first.tool_calls == second.tool_calls == {"t-1": "open"}

    @pytest.mark.parametrize("verb", ["complete_tool", "fail_tool"])
    def test_unknown_tool_call_refused(self, verb: str) -> None:
        run = self._called()
        payload = {"tool_call_id": "nope", "error": "e"}
        model = p.ToolCompletedPayload if verb == "complete_tool" else p.ToolFailedPayload
        with pytest.raises(ToolCallRefused, match="no tool call 'nope'"):
            getattr(run, verb)(meta(), AT, model.model_validate(payload))

    def test_closed_tool_call_cannot_complete_twice(self) -> None:
        run = self._called()
        run.complete_tool(meta(), AT, p.ToolCompletedPayload(tool_call_id="t-1"))
        with pytest.raises(ToolCallRefused, match="already completed"):
            run.complete_tool(meta(), AT, p.ToolCompletedPayload(tool_call_id="t-1"))

    def test_blocked_tool_call_can_no_longer_complete_but_can_fail(self) -> None:
        run = self._called()
        run.block_tool(meta(), AT, p.ToolPolicyPayload(tool_name="search", tool_call_id="t-1"))
        with pytest.raises(ToolCallRefused, match="blocked by policy"):
            run.complete_tool(meta(), AT, p.ToolCompletedPayload(tool_call_id="t-1"))
        run.fail_tool(meta(), AT, p.ToolFailedPayload(tool_call_id="t-1", error="blocked"))
        assert run.tool_calls["t-1"] == "failed"

    def test_pre_emptive_block_reserves_the_id(self) -> None:
        run = run_in("running")
        run.block_tool(meta(), AT, p.ToolPolicyPayload(tool_name="rm", tool_call_id="t-9"))
        with pytest.raises(ToolCallRefused):
            run.call_tool(meta(), AT, p.ToolCalledPayload(tool_call_id="t-9", tool_name="rm"))

    def test_waiting_approval_must_name_an_open_call(self) -> None:
        run = self._called()
        assert run.wait_for_approval(meta(), AT, p.WaitingApprovalPayload(tool_call_id="t-1")).new
        with pytest.raises(ToolCallRefused):
            run.wait_for_approval(meta(), AT, p.WaitingApprovalPayload(tool_call_id="t-2"))

    def test_tool_activity_refused_while_waiting_for_input(self) -> None:
        run = self._called()
        run.wait_for_input(meta(), AT)
        with pytest.raises(RunError, match="allowed only when running"):
            run.complete_tool(meta(), AT, p.ToolCompletedPayload(tool_call_id="t-1"))
