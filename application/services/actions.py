"""ActionService: the approval flow with quarantine and bounded re-execution."""

from __future__ import annotations

from typing import Any

from application.services.base import AggregateService, CommandResult, Origin, payload_of
from domain.action import Action


class ActionService(AggregateService[Action]):
    aggregate = Action

    def create_action(
        self,
        action_id: str,
        action_type: str,
        *,
        deal_id: str | None = None,
        title: str | None = None,
        requires_approval: bool = True,
        max_executions: int = 3,
        session_id: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        data = {
            "action_id": action_id,
            "action_type": action_type,
            "deal_id": deal_id,
            "title": title,
            "requires_approval": requires_approval,
            "max_executions": max_executions,
        }
        given = origin is not None and origin.event_id is not None
        meta = self.meta(origin, session_id)
        return self.create_from(payload_of(Action.Created.TYPE, data), meta, given)

    def _do(
        self, action_id: str, type_name: str, origin: Origin | None, **data: Any
    ) -> CommandResult:
        return self.run(action_id, type_name, {"action_id": action_id, **data}, origin)

    def approve(
        self,
        action_id: str,
        *,
        approved_by: str | None = None,
        reason: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        return self._do(
            action_id, Action.Approved.TYPE, origin, approved_by=approved_by, reason=reason
        )

    def reject(
        self,
        action_id: str,
        *,
        rejected_by: str | None = None,
        reason: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        return self._do(
            action_id, Action.Rejected.TYPE, origin, rejected_by=rejected_by, reason=reason
        )

    def quarantine(
        self, action_id: str, *, reason: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self._do(action_id, Action.Quarantined.TYPE, origin, reason=reason)

    def execute(self, action_id: str, *, origin: Origin | None = None) -> CommandResult:
        return self._do(action_id, Action.ExecutionStarted.TYPE, origin)

    def complete(
        self, action_id: str, *, result: dict[str, Any] | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self._do(action_id, Action.Completed.TYPE, origin, result=result)

    def fail(self, action_id: str, error: str, *, origin: Origin | None = None) -> CommandResult:
        return self._do(action_id, Action.Failed.TYPE, origin, error=error)
