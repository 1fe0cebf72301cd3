"""The Run aggregate: one agent execution inside a session, with its verify gate and tools."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from eventsourcing.domain import event

from domain import payloads as p
from domain.declared import Declared, Upcaster
from domain.errors import (
    InvalidInput,
    RunAlreadyFinished,
    RunError,
    ToolCallRefused,
    VerificationGateClosed,
)
from domain.model import (
    AggregateCreated,
    Applied,
    EventMeta,
    ZakopsAggregate,
    aggregate_uuid,
    decide,
    stamp_meta,
)

RunStatus = Literal["queued", "running", "waiting_input", "completed", "failed", "cancelled"]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
Verification = Literal["none", "open", "passed", "failed"]
ToolCallState = Literal["open", "completed", "failed", "blocked"]


def _run_failed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 producers (the old agent publisher) called the error text `message`.
    upgraded = dict(payload)
    if "error" not in upgraded:
        upgraded["error"] = upgraded.pop("message", None) or "unknown error"
    return upgraded


class Run(ZakopsAggregate):
    """Lifecycle: queued -> running <-> waiting_input -> completed | failed | cancelled."""

    TOPIC = "zakops.Run"
    KIND: ClassVar[str] = "run"

    class Created(AggregateCreated, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.Created"
        TYPE: ClassVar[str] = "run_created"
        STATUS: ClassVar[str | None] = "queued"
        payload: p.RunCreatedPayload

    class Started(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.Started"
        TYPE: ClassVar[str] = "run_started"
        ALIASES: ClassVar[tuple[str, ...]] = ("agent.run_started",)  # the old agent publisher's
        STATUS: ClassVar[str | None] = "running"
        COMMAND: ClassVar[str | None] = "start"
        payload: p.RunStartedPayload

    class WaitingForInput(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.WaitingForInput"
        TYPE: ClassVar[str] = "run_waiting_input"
        STATUS: ClassVar[str | None] = "waiting_input"
        COMMAND: ClassVar[str | None] = "wait_for_input"
        payload: p.RunWaitingInputPayload

    class Resumed(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.Resumed"
        TYPE: ClassVar[str] = "run_resumed"
        STATUS: ClassVar[str | None] = "running"
        COMMAND: ClassVar[str | None] = "resume"
        payload: p.RunResumedPayload

    class Completed(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.Completed"
        TYPE: ClassVar[str] = "run_completed"
        ALIASES: ClassVar[tuple[str, ...]] = ("agent.run_completed",)  # the old agent publisher's
        STATUS: ClassVar[str | None] = "completed"
        COMMAND: ClassVar[str | None] = "complete"
        payload: p.RunCompletedPayload

    class Failed(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.Failed"
        TYPE: ClassVar[str] = "run_failed"
        ALIASES: ClassVar[tuple[str, ...]] = ("agent.run_failed",)  # the old agent publisher's
        STATUS: ClassVar[str | None] = "failed"
        COMMAND: ClassVar[str | None] = "fail"
        SCHEMA_VERSION: ClassVar[int] = 2  # v1 producers called the error `message`
        UPCASTERS: ClassVar[Mapping[int, Upcaster]] = {1: _run_failed_v1_to_v2}
        payload: p.RunFailedPayload

    class Cancelled(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.Cancelled"
        TYPE: ClassVar[str] = "run_cancelled"
        STATUS: ClassVar[str | None] = "cancelled"
        COMMAND: ClassVar[str | None] = "cancel"
        payload: p.RunCancelledPayload

    class VerificationStarted(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.VerificationStarted"
        TYPE: ClassVar[str] = "verify_start"
        DOMAIN: ClassVar[str | None] = "verify"
        VERIFICATION: ClassVar[str | None] = "open"
        COMMAND: ClassVar[str | None] = "start_verification"
        payload: p.VerifyStartPayload

    class VerificationPassed(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.VerificationPassed"
        TYPE: ClassVar[str] = "verify_pass"
        DOMAIN: ClassVar[str | None] = "verify"
        VERIFICATION: ClassVar[str | None] = "passed"
        COMMAND: ClassVar[str | None] = "pass_verification"
        payload: p.VerifyPassPayload

    class VerificationFailed(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.VerificationFailed"
        TYPE: ClassVar[str] = "verify_fail"
        DOMAIN: ClassVar[str | None] = "verify"
        VERIFICATION: ClassVar[str | None] = "failed"
        COMMAND: ClassVar[str | None] = "fail_verification"
        payload: p.VerifyFailPayload

    class ToolBlocked(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.ToolBlocked"
        TYPE: ClassVar[str] = "tool_policy_blocked"
        DOMAIN: ClassVar[str | None] = "policy"
        COMMAND: ClassVar[str | None] = "block_tool"
        payload: p.ToolPolicyPayload

    class ToolWarned(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.ToolWarned"
        TYPE: ClassVar[str] = "tool_policy_warn"
        DOMAIN: ClassVar[str | None] = "policy"
        COMMAND: ClassVar[str | None] = "warn_tool"
        payload: p.ToolPolicyPayload

    class ToolCalled(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.ToolCalled"
        TYPE: ClassVar[str] = "agent.tool_called"
        COMMAND: ClassVar[str | None] = "call_tool"
        payload: p.ToolCalledPayload

    class ToolCompleted(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.ToolCompleted"
        TYPE: ClassVar[str] = "agent.tool_completed"
        COMMAND: ClassVar[str | None] = "complete_tool"
        payload: p.ToolCompletedPayload

    class ToolFailed(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.ToolFailed"
        TYPE: ClassVar[str] = "agent.tool_failed"
        COMMAND: ClassVar[str | None] = "fail_tool"
        payload: p.ToolFailedPayload

    class Thought(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.Thought"
        TYPE: ClassVar[str] = "agent.thinking"
        COMMAND: ClassVar[str | None] = "think"
        payload: p.ThinkingPayload

    class WaitingForApproval(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Run.WaitingForApproval"
        TYPE: ClassVar[str] = "agent.waiting_approval"
        COMMAND: ClassVar[str | None] = "wait_for_approval"
        payload: p.WaitingApprovalPayload

    # -- creation ------------------------------------------------------------------------
    @classmethod
    def create(
        cls, meta: EventMeta, at: datetime, payload: p.RunCreatedPayload | None = None
    ) -> Run:
        """A new run in `meta.session_id` with id `meta.run_id`, status `queued`."""
        if meta.run_id is None:
            raise InvalidInput("run_id", "is required for run_created")
        if meta.session_id is None:
            raise InvalidInput("session_id", "is required for run_created")
        stamped = stamp_meta(meta, Run.Created.TYPE, meta.run_id)
        return cls(
            id=cls.id_for(meta.run_id),
            meta=stamped,
            timestamp=at,
            payload=payload or p.RunCreatedPayload(),
        )

    @staticmethod
    def id_for(run_id: str) -> UUID:
        return aggregate_uuid("run", run_id)

    @event(Created)
    def __init__(self, id: UUID, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        assert meta.run_id is not None
        assert meta.session_id is not None
        self.run_id: str = meta.run_id
        self.session_id: str = meta.session_id
        self.status: RunStatus = "queued"
        self.requires_verification: bool = payload.requires_verification
        self.verification: Verification = "none"
        self.verified: bool = False
        self.tool_calls: dict[str, ToolCallState] = {}
        self.awaiting_approval: bool = False
        self.error: str | None = None
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None

    @property
    def key(self) -> str:
        return self.run_id

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def open_tool_calls(self) -> list[str]:
        return [call for call, state in self.tool_calls.items() if state == "open"]

    def stamp(self, meta: EventMeta, type_name: str) -> EventMeta:
        for field, mine in (("run_id", self.run_id), ("session_id", self.session_id)):
            given = getattr(meta, field)
            if given is not None and given != mine:
                raise InvalidInput(field, f"{given!r} does not match run {self.run_id}")
        meta = meta.model_copy(update={"run_id": self.run_id, "session_id": self.session_id})
        return super().stamp(meta, type_name)

    # -- guards --------------------------------------------------------------------------
    def _refuse(self, attempted: str, why: str = "", error: type[RunError] = RunError) -> None:
        raise error(self.run_id, self.status, attempted, why)

    def _alive(self, attempted: str) -> None:
        if self.is_finished:
            self._refuse(attempted, "the run is finished", RunAlreadyFinished)

    def _in(self, attempted: str, *statuses: RunStatus) -> None:
        self._alive(attempted)
        if self.status not in statuses:
            self._refuse(attempted, f"allowed only when {' or '.join(statuses)}")

    def _tool_call(self, attempted: str, call_id: str, *allowed: ToolCallState) -> None:
        self._in(attempted, "running")
        state = self.tool_calls.get(call_id)
        if state is None:
            self._refuse(attempted, f"no tool call {call_id!r} is open", ToolCallRefused)
        elif state not in allowed:
            why = "it was blocked by policy" if state == "blocked" else f"it is already {state}"
            self._refuse(attempted, f"tool call {call_id!r} cannot take it: {why}", ToolCallRefused)

    def _can_complete(self) -> None:
        self._in(Run.Completed.TYPE, "running")
        gate = VerificationGateClosed
        if self.verification == "open":
            self._refuse(Run.Completed.TYPE, "a verification is still open", gate)
        if self.verification == "failed":
            self._refuse(Run.Completed.TYPE, "the last verification failed", gate)
        if self.requires_verification and not self.verified:
            self._refuse(Run.Completed.TYPE, "the run requires a passed verification", gate)

    # -- commands: lifecycle -------------------------------------------------------------
    def start(
        self, meta: EventMeta, at: datetime, payload: p.RunStartedPayload | None = None
    ) -> Applied:
        return decide(
            self,
            Run.Started.TYPE,
            meta,
            at,
            payload or p.RunStartedPayload(),
            lambda: self._in(Run.Started.TYPE, "queued"),
            self._started,
        )

    def wait_for_input(
        self, meta: EventMeta, at: datetime, payload: p.RunWaitingInputPayload | None = None
    ) -> Applied:
        return decide(
            self,
            Run.WaitingForInput.TYPE,
            meta,
            at,
            payload or p.RunWaitingInputPayload(),
            lambda: self._in(Run.WaitingForInput.TYPE, "running"),
            self._waiting,
        )

    def resume(
        self, meta: EventMeta, at: datetime, payload: p.RunResumedPayload | None = None
    ) -> Applied:
        return decide(
            self,
            Run.Resumed.TYPE,
            meta,
            at,
            payload or p.RunResumedPayload(),
            lambda: self._in(Run.Resumed.TYPE, "waiting_input"),
            self._resumed,
        )

    def complete(
        self, meta: EventMeta, at: datetime, payload: p.RunCompletedPayload | None = None
    ) -> Applied:
        return decide(
            self,
            Run.Completed.TYPE,
            meta,
            at,
            payload or p.RunCompletedPayload(),
            self._can_complete,
            self._completed,
        )

    def fail(self, meta: EventMeta, at: datetime, payload: p.RunFailedPayload) -> Applied:
        return decide(
            self,
            Run.Failed.TYPE,
            meta,
            at,
            payload,
            lambda: self._alive(Run.Failed.TYPE),
            self._failed,
        )

    def cancel(
        self, meta: EventMeta, at: datetime, payload: p.RunCancelledPayload | None = None
    ) -> Applied:
        return decide(
            self,
            Run.Cancelled.TYPE,
            meta,
            at,
            payload or p.RunCancelledPayload(),
            lambda: self._alive(Run.Cancelled.TYPE),
            self._cancelled,
        )

    # -- commands: verify gate -----------------------------------------------------------
    def start_verification(
        self, meta: EventMeta, at: datetime, payload: p.VerifyStartPayload | None = None
    ) -> Applied:
        def check() -> None:
            self._in(Run.VerificationStarted.TYPE, "running")
            if self.verification == "open":
                self._refuse(Run.VerificationStarted.TYPE, "a verification is already open")

        return decide(
            self,
            Run.VerificationStarted.TYPE,
            meta,
            at,
            payload or p.VerifyStartPayload(),
            check,
            self._verification_started,
        )

    def pass_verification(
        self, meta: EventMeta, at: datetime, payload: p.VerifyPassPayload | None = None
    ) -> Applied:
        return decide(
            self,
            Run.VerificationPassed.TYPE,
            meta,
            at,
            payload or p.VerifyPassPayload(),
            lambda: self._verification_open(Run.VerificationPassed.TYPE),
            self._verification_passed,
        )

    def fail_verification(
        self, meta: EventMeta, at: datetime, payload: p.VerifyFailPayload | None = None
    ) -> Applied:
        return decide(
            self,
            Run.VerificationFailed.TYPE,
            meta,
            at,
            payload or p.VerifyFailPayload(),
            lambda: self._verification_open(Run.VerificationFailed.TYPE),
            self._verification_failed,
        )

    def _verification_open(self, attempted: str) -> None:
        self._in(attempted, "running")
        if self.verification != "open":
            self._refuse(attempted, "no verification is open")

    # -- commands: tools, policy and agent activity ---------------------------------------
    def call_tool(self, meta: EventMeta, at: datetime, payload: p.ToolCalledPayload) -> Applied:
        def check() -> None:
            self._in(Run.ToolCalled.TYPE, "running")
            if payload.tool_call_id in self.tool_calls:
                why = f"tool_call_id {payload.tool_call_id!r} is already used in this run"
                self._refuse(Run.ToolCalled.TYPE, why, ToolCallRefused)

        return decide(self, Run.ToolCalled.TYPE, meta, at, payload, check, self._tool_called)

    def complete_tool(
        self, meta: EventMeta, at: datetime, payload: p.ToolCompletedPayload
    ) -> Applied:
        check = lambda: self._tool_call(Run.ToolCompleted.TYPE, payload.tool_call_id, "open")  # noqa: E731
        return decide(self, Run.ToolCompleted.TYPE, meta, at, payload, check, self._tool_completed)

    def fail_tool(self, meta: EventMeta, at: datetime, payload: p.ToolFailedPayload) -> Applied:
        def check() -> None:
            self._tool_call(Run.ToolFailed.TYPE, payload.tool_call_id, "open", "blocked")

        return decide(self, Run.ToolFailed.TYPE, meta, at, payload, check, self._tool_failed)

    def block_tool(self, meta: EventMeta, at: datetime, payload: p.ToolPolicyPayload) -> Applied:
        def check() -> None:
            self._in(Run.ToolBlocked.TYPE, "running")
            call = payload.tool_call_id
            if call is not None and self.tool_calls.get(call, "open") != "open":
                why = f"tool call {call!r} is already {self.tool_calls[call]}"
                self._refuse(Run.ToolBlocked.TYPE, why, ToolCallRefused)

        return decide(self, Run.ToolBlocked.TYPE, meta, at, payload, check, self._tool_blocked)

    def warn_tool(self, meta: EventMeta, at: datetime, payload: p.ToolPolicyPayload) -> Applied:
        return decide(
            self,
            Run.ToolWarned.TYPE,
            meta,
            at,
            payload,
            lambda: self._in(Run.ToolWarned.TYPE, "running"),
            self._noted(Run.ToolWarned),
        )

    def think(
        self, meta: EventMeta, at: datetime, payload: p.ThinkingPayload | None = None
    ) -> Applied:
        return decide(
            self,
            Run.Thought.TYPE,
            meta,
            at,
            payload or p.ThinkingPayload(),
            lambda: self._in(Run.Thought.TYPE, "running"),
            self._noted(Run.Thought),
        )

    def wait_for_approval(
        self, meta: EventMeta, at: datetime, payload: p.WaitingApprovalPayload | None = None
    ) -> Applied:
        payload = payload or p.WaitingApprovalPayload()

        def check() -> None:
            if payload.tool_call_id is None:
                self._in(Run.WaitingForApproval.TYPE, "running")
            else:
                self._tool_call(Run.WaitingForApproval.TYPE, payload.tool_call_id, "open")

        return decide(
            self,
            Run.WaitingForApproval.TYPE,
            meta,
            at,
            payload,
            check,
            self._noted(Run.WaitingForApproval),
        )

    # -- event application (runs on trigger and on replay; only mutates) -----------------
    def _noted(self, event_class: type[ZakopsAggregate.Event]) -> Any:
        """For events that change no state besides the version and the applied ids."""
        return lambda **kwargs: self.trigger_event(event_class, **kwargs)

    @event(Started)
    def _started(self, meta: EventMeta, timestamp: datetime, payload: p.RunStartedPayload) -> None:
        self.status = "running"
        self.started_at = timestamp

    @event(WaitingForInput)
    def _waiting(
        self, meta: EventMeta, timestamp: datetime, payload: p.RunWaitingInputPayload
    ) -> None:
        self.status = "waiting_input"

    @event(Resumed)
    def _resumed(self, meta: EventMeta, timestamp: datetime, payload: p.RunResumedPayload) -> None:
        self.status = "running"

    @event(Completed)
    def _completed(
        self, meta: EventMeta, timestamp: datetime, payload: p.RunCompletedPayload
    ) -> None:
        self.status = "completed"
        self.finished_at = timestamp

    @event(Failed)
    def _failed(self, meta: EventMeta, timestamp: datetime, payload: p.RunFailedPayload) -> None:
        self.status = "failed"
        self.error = payload.error
        self.finished_at = timestamp

    @event(Cancelled)
    def _cancelled(
        self, meta: EventMeta, timestamp: datetime, payload: p.RunCancelledPayload
    ) -> None:
        self.status = "cancelled"
        self.finished_at = timestamp

    @event(VerificationStarted)
    def _verification_started(
        self, meta: EventMeta, timestamp: datetime, payload: p.VerifyStartPayload
    ) -> None:
        self.verification = "open"

    @event(VerificationPassed)
    def _verification_passed(
        self, meta: EventMeta, timestamp: datetime, payload: p.VerifyPassPayload
    ) -> None:
        self.verification = "passed"
        self.verified = True

    @event(VerificationFailed)
    def _verification_failed(
        self, meta: EventMeta, timestamp: datetime, payload: p.VerifyFailPayload
    ) -> None:
        self.verification = "failed"

    @event(ToolCalled)
    def _tool_called(
        self, meta: EventMeta, timestamp: datetime, payload: p.ToolCalledPayload
    ) -> None:
        self.tool_calls[payload.tool_call_id] = "open"

    @event(ToolCompleted)
    def _tool_completed(
        self, meta: EventMeta, timestamp: datetime, payload: p.ToolCompletedPayload
    ) -> None:
        self.tool_calls[payload.tool_call_id] = "completed"

    @event(ToolFailed)
    def _tool_failed(
        self, meta: EventMeta, timestamp: datetime, payload: p.ToolFailedPayload
    ) -> None:
        self.tool_calls[payload.tool_call_id] = "failed"

    @event(ToolBlocked)
    def _tool_blocked(
        self, meta: EventMeta, timestamp: datetime, payload: p.ToolPolicyPayload
    ) -> None:
        if payload.tool_call_id is not None:
            self.tool_calls[payload.tool_call_id] = "blocked"
