"""The seed's `src.core.events.integration`: the decorators and the enums they take."""

from __future__ import annotations

from entrypoints.events import (
    ActionEventType,
    AgentEventType,
    DealEventType,
    SystemEventType,
    WorkerEventType,
    emit_action_event,
    emit_deal_event,
)

__all__ = [
    "ActionEventType",
    "AgentEventType",
    "DealEventType",
    "SystemEventType",
    "WorkerEventType",
    "emit_action_event",
    "emit_deal_event",
]
