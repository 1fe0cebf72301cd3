"""RunService: the run lifecycle, the verify gate, tool calls and policy, agent activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.services.base import AggregateService, CommandResult, Origin, payload_of
from domain.run import Run

HISTORY_PAGE = 1000  # events per read while counting a run's history


@dataclass(frozen=True)
class RunView:
    """A run's current state, read from its aggregate."""

    run_id: str
    session_id: str
    status: str
    requires_verification: bool
    verification: str
    verified: bool
    open_tool_calls: list[str]
    tool_calls: dict[str, str]
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    version: int


class RunService(AggregateService[Run]):
    aggregate = Run

    def create_run(
        self,
        session_id: str,
        run_id: str,
        *,
        requires_verification: bool = False,
        agent: str | None = None,
        input: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        """A new run in a session (status queued)."""
        data = {"requires_verification": requires_verification, "agent": agent, "input": input}
        meta = self.meta(origin, session_id, run_id)
        given = origin is not None and origin.event_id is not None
        return self.create_from(payload_of(Run.Created.TYPE, data), meta, given)

    def start_run(
        self, run_id: str, *, phase: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self.run(run_id, Run.Started.TYPE, {"phase": phase}, origin)

    def wait_for_input(
        self, run_id: str, *, prompt: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self.run(run_id, Run.WaitingForInput.TYPE, {"prompt": prompt}, origin)

    def resume_run(
        self, run_id: str, *, input: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self.run(run_id, Run.Resumed.TYPE, {"input": input}, origin)

    def complete_run(
        self, run_id: str, *, output: Any = None, origin: Origin | None = None
    ) -> CommandResult:
        return self.run(run_id, Run.Completed.TYPE, {"output": output}, origin)

    def fail_run(
        self,
        run_id: str,
        error: str,
        *,
        error_code: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        return self.run(run_id, Run.Failed.TYPE, {"error": error, "error_code": error_code}, origin)

    def cancel_run(
        self, run_id: str, *, reason: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self.run(run_id, Run.Cancelled.TYPE, {"reason": reason}, origin)

    def start_verification(
        self, run_id: str, *, verifier: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self.run(run_id, Run.VerificationStarted.TYPE, {"verifier": verifier}, origin)

    def pass_verification(
        self, run_id: str, *, details: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self.run(run_id, Run.VerificationPassed.TYPE, {"details": details}, origin)

    def fail_verification(
        self, run_id: str, *, reason: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self.run(run_id, Run.VerificationFailed.TYPE, {"reason": reason}, origin)

    def call_tool(
        self,
        run_id: str,
        tool_call_id: str,
        tool_name: str,
        *,
        arguments: dict[str, Any] | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        data = {"tool_call_id": tool_call_id, "tool_name": tool_name, "arguments": arguments}
        return self.run(run_id, Run.ToolCalled.TYPE, data, origin)

    def complete_tool(
        self, run_id: str, tool_call_id: str, *, result: Any = None, origin: Origin | None = None
    ) -> CommandResult:
        data = {"tool_call_id": tool_call_id, "result": result}
        return self.run(run_id, Run.ToolCompleted.TYPE, data, origin)

    def fail_tool(
        self, run_id: str, tool_call_id: str, error: str, *, origin: Origin | None = None
    ) -> CommandResult:
        data = {"tool_call_id": tool_call_id, "error": error}
        return self.run(run_id, Run.ToolFailed.TYPE, data, origin)

    def block_tool(
        self,
        run_id: str,
        tool_name: str,
        *,
        tool_call_id: str | None = None,
        policy: str | None = None,
        reason: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        data = {
            "tool_name": tool_name,
            "tool_call_id": tool_call_id,
            "policy": policy,
            "reason": reason,
        }
        return self.run(run_id, Run.ToolBlocked.TYPE, data, origin)

    def warn_tool(
        self,
        run_id: str,
        tool_name: str,
        *,
        tool_call_id: str | None = None,
        policy: str | None = None,
        reason: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        data = {
            "tool_name": tool_name,
            "tool_call_id": tool_call_id,
            "policy": policy,
            "reason": reason,
        }
        return self.run(run_id, Run.ToolWarned.TYPE, data, origin)

    def think(
        self, run_id: str, *, content: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self.run(run_id, Run.Thought.TYPE, {"content": content}, origin)

    def wait_for_approval(
        self,
        run_id: str,
        *,
        tool_call_id: str | None = None,
        reason: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        data = {"tool_call_id": tool_call_id, "reason": reason}
        return self.run(run_id, Run.WaitingForApproval.TYPE, data, origin)

    def get_run(self, run_id: str) -> RunView:
        return run_view(self.load(run_id))

    def get_run_at(self, run_id: str, seq: int) -> RunView:
        """The run's state as of session `seq`: its aggregate replayed up to the last of its
        events with a seq at or before it (a run's events all carry their session's seq)."""
        return run_view(self.load_at(run_id, self.version_at(run_id, seq), f"at seq {seq}"))

    def version_at(self, run_id: str, seq: int) -> int:
        """How many of the run's events have a seq at or before `seq` (= its version then)."""
        count, since = 0, 0
        while True:
            page = self.deps.view.by_run(self.check_key(run_id), since, HISTORY_PAGE)
            before = [e for e in page if e.seq is not None and e.seq <= seq]
            count += len(before)
            if len(before) < len(page) or len(page) < HISTORY_PAGE:
                return count
            since = page[-1].seq or since


def run_view(run: Run) -> RunView:
    return RunView(
        run_id=run.run_id,
        session_id=run.session_id,
        status=run.status,
        requires_verification=run.requires_verification,
        verification=run.verification,
        verified=run.verified,
        open_tool_calls=run.open_tool_calls,
        tool_calls=dict(run.tool_calls),
        error=run.error,
        started_at=run.started_at,
        finished_at=run.finished_at,
        version=run.version,
    )
