"""Hypothesis state machines: random command sequences never produce an illegal history,
terminal states accept nothing, and replaying the events rebuilds an equal aggregate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain import payloads as p
from domain.errors import DomainError
from domain.model import ZakopsAggregate
from tests.unit.builders import AT, meta, new_action, new_deal, new_job, new_run, snapshot_state

Command = Callable[[Any, str], object]


class AggregateMachine(RuleBasedStateMachine):
    """Subclasses give the commands, terminal states, and an independent history checker."""

    COMMANDS: ClassVar[dict[str, Command]] = {}
    TERMINAL: ClassVar[frozenset[str]] = frozenset()
    ARGS: ClassVar[list[str]] = ["a", "b"]

    def __init__(self) -> None:
        super().__init__()
        self.aggregate: Any = self.build()

    def build(self) -> ZakopsAggregate:
        raise NotImplementedError

    def state_of(self) -> str:
        return str(self.aggregate.status)

    def check_history(self, types: list[str], payloads: list[Any]) -> None:
        raise NotImplementedError

    def attempt(self, name: str, arg: str) -> None:
        before, count = snapshot_state(self.aggregate), len(self.aggregate.pending_events)
        try:
            self.COMMANDS[name](self.aggregate, arg)
        except DomainError:
            assert snapshot_state(self.aggregate) == before
            assert len(self.aggregate.pending_events) == count

    @invariant()
    def history_is_legal(self) -> None:
        events = self.aggregate.pending_events
        self.check_history([e.event_type for e in events], [e.payload for e in events])

    @invariant()
    def terminal_states_accept_nothing(self) -> None:
        if self.state_of() not in self.TERMINAL:
            return
        count = len(self.aggregate.pending_events)
        for name in self.COMMANDS:
            for arg in self.ARGS:
                try:
                    self.COMMANDS[name](self.aggregate, arg)
                except DomainError:
                    continue
                if len(self.aggregate.pending_events) != count:
                    raise AssertionError(f"{name} was accepted in {self.state_of()}")

    @invariant()
    def replay_rebuilds_an_equal_aggregate(self) -> None:
        replayed: Any = None
        for event in self.aggregate.pending_events:
            replayed = event.mutate(replayed)
        assert snapshot_state(replayed) == snapshot_state(self.aggregate)


def machine(base: type[AggregateMachine], commands: dict[str, Command]) -> type[AggregateMachine]:
    """Bind a rule over this machine's own command names."""

    class Bound(base):  # type: ignore[valid-type,misc]  # a class built from a variable base
        COMMANDS = commands

        @rule(name=st.sampled_from(sorted(commands)), arg=st.sampled_from(base.ARGS))
        def step(self, name: str, arg: str) -> None:
            self.attempt(name, arg)

    return Bound


# --- Run ---------------------------------------------------------------------------------
RUN_COMMANDS: dict[str, Command] = {
    "start": lambda r, a: r.start(meta(), AT),
    "wait": lambda r, a: r.wait_for_input(meta(), AT),
    "resume": lambda r, a: r.resume(meta(), AT),
    "complete": lambda r, a: r.complete(meta(), AT),
    "fail": lambda r, a: r.fail(meta(), AT, p.RunFailedPayload(error="x")),
    "cancel": lambda r, a: r.cancel(meta(), AT),
    "verify_start": lambda r, a: r.start_verification(meta(), AT),
    "verify_pass": lambda r, a: r.pass_verification(meta(), AT),
    "verify_fail": lambda r, a: r.fail_verification(meta(), AT),
    "call": lambda r, a: r.call_tool(
        meta(), AT, p.ToolCalledPayload(tool_call_id=a, tool_name="t")
    ),
    "tool_done": lambda r, a: r.complete_tool(meta(), AT, p.ToolCompletedPayload(tool_call_id=a)),
    "tool_fail": lambda r, a: r.fail_tool(
        meta(), AT, p.ToolFailedPayload(tool_call_id=a, error="e")
    ),
    "block": lambda r, a: r.block_tool(
        meta(), AT, p.ToolPolicyPayload(tool_name="t", tool_call_id=a)
    ),
    "think": lambda r, a: r.think(meta(), AT),
}


class RunBase(AggregateMachine):
    TERMINAL = frozenset({"completed", "failed", "cancelled"})

    def build(self) -> ZakopsAggregate:
        return new_run(requires_verification=True)

    def check_history(self, types: list[str], payloads: list[Any]) -> None:
        status, verification, verified = "queued", "none", False
        calls: dict[str, str] = {}
        lifecycle = {
            "run_started": ({"queued"}, "running"),
            "run_waiting_input": ({"running"}, "waiting_input"),
            "run_resumed": ({"waiting_input"}, "running"),
            "run_completed": ({"running"}, "completed"),
            "run_failed": ({"queued", "running", "waiting_input"}, "failed"),
            "run_cancelled": ({"queued", "running", "waiting_input"}, "cancelled"),
        }
        assert types[0] == "run_created"
        for kind, payload in zip(types[1:], payloads[1:], strict=True):
            if kind in lifecycle:
                sources, target = lifecycle[kind]
                assert status in sources, (status, kind)
                if kind == "run_completed":
                    assert verification not in {"open", "failed"} and verified
                status = target
                continue
            assert status == "running", (status, kind)
            if kind == "verify_start":
                assert verification != "open"
                verification = "open"
            elif kind in {"verify_pass", "verify_fail"}:
                assert verification == "open"
                verification = "passed" if kind == "verify_pass" else "failed"
                verified = verified or kind == "verify_pass"
            elif kind == "agent.tool_called":
                assert payload.tool_call_id not in calls
                calls[payload.tool_call_id] = "open"
            elif kind == "agent.tool_completed":
                assert calls.get(payload.tool_call_id) == "open"
                calls[payload.tool_call_id] = "done"
            elif kind == "agent.tool_failed":
                assert calls.get(payload.tool_call_id) in {"open", "blocked"}
                calls[payload.tool_call_id] = "done"
            elif kind == "tool_policy_blocked":
                assert calls.get(payload.tool_call_id, "open") == "open"
                calls[payload.tool_call_id] = "blocked"


# --- Deal --------------------------------------------------------------------------------
STAGES = [
    "inbound",
    "screening",
    "qualified",
    "loi",
    "diligence",
    "closing",
    "portfolio",
    "junk",
    "archived",
]
LEGACY = {
    "inbound": {"screening", "junk", "archived"},
    "screening": {"qualified", "junk", "archived"},
    "qualified": {"loi", "junk", "archived"},
    "loi": {"diligence", "qualified", "junk", "archived"},
    "diligence": {"closing", "loi", "junk", "archived"},
    "closing": {"portfolio", "diligence", "junk", "archived"},
    "portfolio": {"archived"},
    "junk": {"inbound", "archived"},
}


def _move(stage: str) -> Command:
    def command(deal: Any, _: str) -> object:
        data = {"deal_id": deal.deal_id, "to_stage": stage}
        return deal.move_to(meta(), AT, p.DealStageChangedPayload.model_validate(data))

    return command


DEAL_COMMANDS: dict[str, Command] = {f"move_{stage}": _move(stage) for stage in STAGES}
DEAL_COMMANDS["archive"] = lambda d, a: d.archive(
    meta(), AT, p.DealArchivedPayload(deal_id=d.deal_id)
)
DEAL_COMMANDS["update"] = lambda d, a: d.update(
    meta(), AT, p.DealUpdatedPayload(deal_id=d.deal_id, name=a)
)


class DealBase(AggregateMachine):
    TERMINAL = frozenset({"archived"})

    def build(self) -> ZakopsAggregate:
        return new_deal()

    def state_of(self) -> str:
        return str(self.aggregate.stage)

    def check_history(self, types: list[str], payloads: list[Any]) -> None:
        stage = "inbound"
        for kind, payload in zip(types[1:], payloads[1:], strict=True):
            assert stage != "archived", kind
            if kind == "deal.stage_changed":
                assert payload.from_stage == stage
                assert payload.to_stage in LEGACY[stage]
                stage = payload.to_stage
            elif kind == "deal.archived":
                stage = "archived"


# --- Action ------------------------------------------------------------------------------
def _action(verb: str, model: type[p.ActionPayload], **extra: Any) -> Command:
    return lambda x, a: getattr(x, verb)(meta(), AT, model(action_id=x.action_id, **extra))


ACTION_COMMANDS: dict[str, Command] = {
    "approve": _action("approve", p.ActionApprovedPayload),
    "reject": _action("reject", p.ActionRejectedPayload),
    "quarantine": _action("quarantine", p.ActionQuarantinedPayload),
    "execute": _action("execute", p.ActionExecutingPayload),
    "complete": _action("complete", p.ActionCompletedPayload),
    "fail": _action("fail", p.ActionFailedPayload, error="e"),
}


class ActionBase(AggregateMachine):
    TERMINAL = frozenset({"rejected", "completed"})

    def build(self) -> ZakopsAggregate:
        return new_action(requires_approval=True, max_executions=2)

    def check_history(self, types: list[str], payloads: list[Any]) -> None:
        moves = {
            "action.approved": ({"created", "quarantined"}, "approved"),
            "action.rejected": ({"created", "quarantined"}, "rejected"),
            "action.quarantined": ({"created"}, "quarantined"),
            "action.executing": ({"approved", "failed"}, "executing"),
            "action.completed": ({"executing"}, "completed"),
            "action.failed": ({"executing"}, "failed"),
        }
        status, executions = "created", 0
        for kind in types[1:]:
            sources, status_after = moves[kind]
            assert status in sources, (status, kind)
            executions += kind == "action.executing"
            assert executions <= 2
            status = status_after


# --- Job ---------------------------------------------------------------------------------
def _job(verb: str, model: type[p.JobPayload], **extra: Any) -> Command:
    return lambda j, a: getattr(j, verb)(meta(), AT, model(job_id=j.job_id, **extra))


JOB_COMMANDS: dict[str, Command] = {
    "start": _job("start", p.JobStartedPayload),
    "complete": _job("complete", p.JobCompletedPayload),
    "fail": _job("fail", p.JobFailedPayload, error="e"),
    "retry": _job("retry", p.JobRetryingPayload),
    "dead_letter": _job("dead_letter", p.JobDeadLetteredPayload),
    "requeue": _job("requeue", p.JobQueuedPayload, job_type="enrich"),
}


class JobBase(AggregateMachine):
    TERMINAL = frozenset({"completed"})

    def build(self) -> ZakopsAggregate:
        return new_job(max_attempts=2)

    def check_history(self, types: list[str], payloads: list[Any]) -> None:
        status, attempts = "queued", 0
        for kind in types[1:]:
            if kind == "worker.job_started":
                assert status in {"queued", "retrying"}
                attempts += 1
                assert attempts <= 2
                status = "started"
            elif kind in {"worker.job_completed", "worker.job_failed"}:
                assert status == "started"
                status = "completed" if kind == "worker.job_completed" else "failed"
            elif kind == "worker.job_retrying":
                assert status == "failed" and attempts < 2
                status = "retrying"
            elif kind == "worker.job_dlq":
                assert status == "failed" and attempts >= 2
                status = "dlq"
            elif kind == "worker.job_queued":
                assert status == "dlq"
                status, attempts = "queued", 0


FAST = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestRunMachine = FAST(machine(RunBase, RUN_COMMANDS)).TestCase
TestDealMachine = FAST(machine(DealBase, DEAL_COMMANDS)).TestCase
TestActionMachine = FAST(machine(ActionBase, ACTION_COMMANDS)).TestCase
TestJobMachine = FAST(machine(JobBase, JOB_COMMANDS)).TestCase
