"""How our events become legacy rows, and legacy rows our events (pure functions).

Routing as the old publisher did it: run lifecycle and `agent.*` events that have a run and
a session go to `zakops.agent_events` (the session is the legacy thread); everything else
goes to `zakops.deal_events`. `agent_events.event_type` admits 16 values only.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

from domain.envelope import Envelope
from domain.errors import DomainError
from domain.taxonomy import REGISTRY, resolve

# our type -> agent_events.event_type (anything else is 'custom' with original_type)
AGENT_TYPES: dict[str, str] = {
    "run_created": "run_created",
    "run_started": "run_started",
    "run_completed": "run_completed",
    "run_failed": "run_failed",
    "run_cancelled": "run_cancelled",
    "agent.tool_called": "tool_call_started",
    "agent.tool_completed": "tool_call_completed",
    "agent.tool_failed": "tool_call_failed",
    "agent.waiting_approval": "tool_approval_required",
}
LEGACY_TO_OURS: dict[str, str] = {legacy: ours for ours, legacy in AGENT_TYPES.items()}
RUN_STATUS: dict[str, str] = {
    "run_created": "pending",
    "run_started": "running",
    "run_waiting_input": "running",
    "run_resumed": "running",
    "run_completed": "completed",
    "run_failed": "failed",
    "run_cancelled": "cancelled",
}
ACTION_STATUS: dict[str, str] = {
    "action.created": "pending",
    "action.approved": "approved",
    "action.rejected": "rejected",
    "action.quarantined": "quarantined",
    "action.executing": "executing",
    "action.completed": "completed",
    "action.failed": "failed",
}
ACTOR_TYPES = {"user", "system", "agent"}

# Columns bounded by the legacy contract that we fill from free text: the column gets the
# first N characters, the event row (`payload` / `event_data`) keeps the whole value.
DISPLAY_NAME = 255  # deals.display_name
ACTION_TITLE = 255  # actions.title
TOOL_CALL_ID = 64  # agent_events.tool_call_id


def bounded(value: Any, limit: int) -> str | None:
    """A text value cut to the column's `limit` characters (varchar counts characters)."""
    return None if value is None else str(value)[:limit]


def tool_call_column(payload: dict[str, Any]) -> str | None:
    """`agent_events.tool_call_id`: the payload's tool call id when it fits the column. The
    typed payloads bound it at the edge; an extra field on another type may hold anything,
    and an id cut short would name another call, so what does not fit stays in event_data
    only."""
    value = payload.get("tool_call_id")
    if isinstance(value, str) and 0 < len(value) <= TOOL_CALL_ID:
        return value
    return None


def to_agent_table(envelope: Envelope) -> bool:
    return resolve(envelope.type).run_scoped and bool(envelope.run_id and envelope.session_id)


def agent_type(type_name: str) -> str:
    return AGENT_TYPES.get(type_name, "custom")


def agent_data(envelope: Envelope) -> dict[str, Any]:
    data: dict[str, Any] = dict(envelope.payload)
    if agent_type(envelope.type) == "custom":
        data["original_type"] = envelope.type
    data.update(seq=envelope.seq, position=envelope.position)
    if envelope.correlation_id and as_uuid(envelope.correlation_id) is None:
        data["correlation_id"] = envelope.correlation_id
    return data


def as_uuid(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def row_uuid(event_id: str) -> uuid.UUID:
    """deal_events.id for one of our events: stable, so a replay writes the same id."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"zakops-event:{event_id}")


def actor_parts(actor: str | None) -> tuple[str | None, str]:
    """`agent:planner` -> ("planner", "agent"); a bare name is a user; none is the system."""
    if actor is None:
        return None, "system"
    kind, _, rest = actor.partition(":")
    if rest and kind in ACTOR_TYPES:
        return rest[:64], kind
    return actor[:64], "user"


def deal_payload(envelope: Envelope) -> dict[str, Any]:
    return {
        **envelope.payload,
        "event_id": envelope.event_id,
        "correlation_id": envelope.correlation_id,
        "schema_version": envelope.schema_version,
    }


# --- importing: legacy rows -> our types --------------------------------------------------
def _custom(name: str) -> str:
    clean = re.sub(r"[^a-z0-9_.\-]", "_", name.lower()).strip("._-") or "event"
    return f"custom.legacy.{clean}"[:97]


def imported_agent_type(event_type: str, data: dict[str, Any]) -> str:
    if event_type in LEGACY_TO_OURS:
        return LEGACY_TO_OURS[event_type]
    original = str(data.get("original_type") or "")
    if original in REGISTRY and REGISTRY[original].run_scoped:
        return original
    return _custom(original or event_type)


def imported_deal_type(event_type: str) -> str:
    try:
        spec = resolve(event_type)
    except DomainError:
        return _custom(event_type)
    return _custom(event_type) if spec.run_scoped else spec.name


def imported_id(table: str, key: str) -> str:
    candidate = f"legacy:{table}:{key}"
    if len(candidate) <= 100:
        return candidate
    return f"legacy:{table}:{hashlib.sha256(key.encode()).hexdigest()[:40]}"
