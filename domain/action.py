"""The Action aggregate: an operation proposed by an agent or a person, with approval."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from eventsourcing.domain import event

from domain import payloads as p
from domain.declared import Declared
from domain.errors import ActionError, InvalidInput
from domain.model import (
    AggregateCreated,
    Applied,
    EventMeta,
    ZakopsAggregate,
    aggregate_uuid,
    decide,
    stamp_meta,
)

ActionStatus = Literal[
    "created",
    "approved",
    "rejected",
    "quarantined",
    "executing",
    "completed",
    "failed",
]
TERMINAL: frozenset[str] = frozenset({"rejected", "completed"})


class Action(ZakopsAggregate):
    """created -> approved | rejected | quarantined (-> approved | rejected after review);
    created -> executing when no approval is needed; approved -> executing -> completed |
    failed; failed -> executing again while executions < max_executions."""

    TOPIC = "zakops.Action"
    KIND: ClassVar[str] = "action"
    KEY_FIELD: ClassVar[str] = "action_id"  # the payload field naming the aggregate

    class Created(AggregateCreated, Declared):
        TOPIC: ClassVar[str] = "zakops.Action.Created"
        TYPE: ClassVar[str] = "action.created"
        STATUS: ClassVar[str | None] = "created"
        payload: p.ActionCreatedPayload

    class Approved(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Action.Approved"
        TYPE: ClassVar[str] = "action.approved"
        STATUS: ClassVar[str | None] = "approved"
        COMMAND: ClassVar[str | None] = "approve"
        payload: p.ActionApprovedPayload

    class Rejected(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Action.Rejected"
        TYPE: ClassVar[str] = "action.rejected"
        STATUS: ClassVar[str | None] = "rejected"
        COMMAND: ClassVar[str | None] = "reject"
        payload: p.ActionRejectedPayload

    class Quarantined(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Action.Quarantined"
        TYPE: ClassVar[str] = "action.quarantined"
        STATUS: ClassVar[str | None] = "quarantined"
        COMMAND: ClassVar[str | None] = "quarantine"
        payload: p.ActionQuarantinedPayload

    class ExecutionStarted(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Action.ExecutionStarted"
        TYPE: ClassVar[str] = "action.executing"
        STATUS: ClassVar[str | None] = "executing"
        COMMAND: ClassVar[str | None] = "execute"
        payload: p.ActionExecutingPayload

    class Completed(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Action.Completed"
        TYPE: ClassVar[str] = "action.completed"
        STATUS: ClassVar[str | None] = "completed"
        COMMAND: ClassVar[str | None] = "complete"
        payload: p.ActionCompletedPayload

    class Failed(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Action.Failed"
        TYPE: ClassVar[str] = "action.failed"
        STATUS: ClassVar[str | None] = "failed"
        COMMAND: ClassVar[str | None] = "fail"
        payload: p.ActionFailedPayload

    @classmethod
    def create(cls, meta: EventMeta, at: datetime, payload: p.ActionCreatedPayload) -> Action:
        correlation = payload.deal_id or payload.action_id
        stamped = stamp_meta(meta, Action.Created.TYPE, correlation)
        return cls(id=cls.id_for(payload.action_id), meta=stamped, timestamp=at, payload=payload)

    @staticmethod
    def id_for(action_id: str) -> UUID:
        return aggregate_uuid("action", action_id)

    @event(Created)
    def __init__(self, id: UUID, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.action_id: str = payload.action_id
        self.action_type: str = payload.action_type
        self.deal_id: str | None = payload.deal_id
        self.requires_approval: bool = payload.requires_approval
        self.max_executions: int = payload.max_executions
        self.executions: int = 0
        self.status: ActionStatus = "created"
        self.error: str | None = None

    @property
    def key(self) -> str:
        return self.action_id

    def default_correlation(self) -> str:
        return self.deal_id or self.action_id

    def _require(self, payload: p.ActionPayload, attempted: str, *statuses: ActionStatus) -> None:
        if payload.action_id != self.action_id:
            raise InvalidInput("payload.action_id", f"{payload.action_id!r} is not {self.key}")
        if self.status in TERMINAL:
            raise ActionError(self.action_id, self.status, attempted, "the action is finished")
        if self.status not in statuses:
            why = f"allowed only when {' or '.join(statuses)}"
            raise ActionError(self.action_id, self.status, attempted, why)

    # -- commands ------------------------------------------------------------------------
    def approve(self, meta: EventMeta, at: datetime, payload: p.ActionApprovedPayload) -> Applied:
        check = lambda: self._require(payload, Action.Approved.TYPE, "created", "quarantined")  # noqa: E731
        return decide(self, Action.Approved.TYPE, meta, at, payload, check, self._approved)

    def reject(self, meta: EventMeta, at: datetime, payload: p.ActionRejectedPayload) -> Applied:
        check = lambda: self._require(payload, Action.Rejected.TYPE, "created", "quarantined")  # noqa: E731
        return decide(self, Action.Rejected.TYPE, meta, at, payload, check, self._rejected)

    def quarantine(
        self, meta: EventMeta, at: datetime, payload: p.ActionQuarantinedPayload
    ) -> Applied:
        check = lambda: self._require(payload, Action.Quarantined.TYPE, "created")  # noqa: E731
        return decide(self, Action.Quarantined.TYPE, meta, at, payload, check, self._quarantined)

    def execute(self, meta: EventMeta, at: datetime, payload: p.ActionExecutingPayload) -> Applied:
        def check() -> None:
            ready: tuple[ActionStatus, ...] = ("approved", "failed")
            if not self.requires_approval:
                ready = ("created", *ready)
            self._require(payload, Action.ExecutionStarted.TYPE, *ready)
            if self.executions >= self.max_executions:
                why = f"it has executed {self.executions} times (max {self.max_executions})"
                raise ActionError(self.action_id, self.status, Action.ExecutionStarted.TYPE, why)

        return decide(self, Action.ExecutionStarted.TYPE, meta, at, payload, check, self._executing)

    def complete(self, meta: EventMeta, at: datetime, payload: p.ActionCompletedPayload) -> Applied:
        check = lambda: self._require(payload, Action.Completed.TYPE, "executing")  # noqa: E731
        return decide(self, Action.Completed.TYPE, meta, at, payload, check, self._completed)

    def fail(self, meta: EventMeta, at: datetime, payload: p.ActionFailedPayload) -> Applied:
        check = lambda: self._require(payload, Action.Failed.TYPE, "executing")  # noqa: E731
        return decide(self, Action.Failed.TYPE, meta, at, payload, check, self._failed)

    # -- event application ---------------------------------------------------------------
    @event(Approved)
    def _approved(self, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.status = "approved"

    @event(Rejected)
    def _rejected(self, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.status = "rejected"

    @event(Quarantined)
    def _quarantined(self, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.status = "quarantined"

    @event(ExecutionStarted)
    def _executing(self, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.status = "executing"
        self.executions += 1
        self.error = None

    @event(Completed)
    def _completed(self, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.status = "completed"

    @event(Failed)
    def _failed(self, meta: EventMeta, timestamp: datetime, payload: p.ActionFailedPayload) -> None:
        self.status = "failed"
        self.error = payload.error
