"""The first seed's Python API, wired: `from entrypoints.events import publish_deal_event`.

The seed imports `src.core.events`; our composition root is `entrypoints`, the one package
allowed to build the application, so the same module lives at `entrypoints.events` (and
`src.core.events.integration` at `entrypoints.events.integration`). Importing it wires the
publishers, the query service and the decorators to the application built from the settings
(`ZAKOPS_*`, `.env`) on first use; no `use_emitter()` call is needed.
"""

from __future__ import annotations

from adapters.python_api.publishers import (
    publish_action_event,
    publish_action_event_sync,
    publish_agent_event,
    publish_agent_event_sync,
    publish_deal_event,
    publish_deal_event_sync,
    publish_system_event,
    publish_system_event_sync,
    publish_worker_event,
    publish_worker_event_sync,
)
from adapters.python_api.queries import (
    AsyncEventQueryService,
    EventQueryService,
    get_query_service,
    get_query_service_sync,
)
from application.decorators import emit_action_event, emit_deal_event
from application.emitter import run_context
from domain.envelope import Envelope
from domain.event_types import (
    ActionEventType,
    AgentEventType,
    DealEventType,
    RunEventType,
    SystemEventType,
    WorkerEventType,
)
from entrypoints.container import reset_default_container, wire_python_api

wire_python_api()


def get_events_by_run(
    session_id: object, run_id: object, since_seq: int = 0, limit: int = 100
) -> list[Envelope]:
    """The second seed's `get_events_by_run(session_id, run_id, since_seq, limit)`."""
    return get_query_service_sync().get_events_by_run(session_id, run_id, since_seq, limit)


__all__ = [
    "ActionEventType",
    "AgentEventType",
    "AsyncEventQueryService",
    "DealEventType",
    "Envelope",
    "EventQueryService",
    "RunEventType",
    "SystemEventType",
    "WorkerEventType",
    "emit_action_event",
    "emit_deal_event",
    "get_events_by_run",
    "get_query_service",
    "get_query_service_sync",
    "publish_action_event",
    "publish_action_event_sync",
    "publish_agent_event",
    "publish_agent_event_sync",
    "publish_deal_event",
    "publish_deal_event_sync",
    "publish_system_event",
    "publish_system_event_sync",
    "publish_worker_event",
    "publish_worker_event_sync",
    "reset_default_container",
    "run_context",
]
