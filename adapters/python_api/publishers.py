"""`publish_deal_event`, `publish_action_event`, `publish_agent_event`, `publish_worker_event`,
`publish_system_event`: async as in the first seed, with `_sync` twins.

Each returns the stored envelope (with `seq` and `position`), or None for a no-op (a deal
moved to the stage it is in). Ids may be any object whose `str()` is the id (a UUID).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.python_api.asyncs import in_thread
from adapters.python_api.binding import bound
from domain.envelope import Envelope
from domain.errors import InvalidInput
from domain.taxonomy import resolve

Data = Mapping[str, Any] | None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _publish(
    kinds: set[str],
    event_type: str,
    payload: dict[str, Any],
    *,
    source: str,
    session_id: object = None,
    run_id: object = None,
    correlation_id: object = None,
    causation_id: object = None,
    actor: str | None = None,
    event_id: object = None,
) -> Envelope | None:
    spec = resolve(str(event_type))
    if spec.aggregate not in kinds:
        wanted = " or ".join(sorted(kinds))
        raise InvalidInput("event_type", f"{spec.name!r} is not a {wanted} event type")
    emitted = (
        bound()
        .emitter()
        .emit(
            str(event_type),
            payload,
            session_id=_text(session_id),
            run_id=_text(run_id),
            event_id=_text(event_id),
            source=source,
            correlation_id=_text(correlation_id),
            causation_id=_text(causation_id),
            actor=actor,
        )
    )
    return emitted.envelope


def publish_deal_event_sync(
    deal_id: object,
    event_type: str,
    event_data: Data = None,
    *,
    correlation_id: object = None,
    causation_id: object = None,
    actor: str | None = None,
    source: str = "deal_lifecycle",
    event_id: object = None,
) -> Envelope | None:
    """A `deal.*` event; the deal is its correlation id unless another is given."""
    payload = {**(event_data or {}), "deal_id": str(deal_id)}
    return _publish(
        {"deal"},
        event_type,
        payload,
        source=source,
        correlation_id=correlation_id or deal_id,
        causation_id=causation_id,
        actor=actor,
        event_id=event_id,
    )


def publish_action_event_sync(
    action_id: object,
    correlation_id: object,
    event_type: str,
    event_data: Data = None,
    deal_id: object = None,
    *,
    causation_id: object = None,
    actor: str | None = None,
    source: str = "action_engine",
    event_id: object = None,
) -> Envelope | None:
    """An `action.*` event; `deal_id` (when given) is stored in the payload."""
    payload = {**(event_data or {}), "action_id": str(action_id)}
    if deal_id is not None:
        payload["deal_id"] = str(deal_id)
    return _publish(
        {"action"},
        event_type,
        payload,
        source=source,
        correlation_id=correlation_id or deal_id,
        causation_id=causation_id,
        actor=actor,
        event_id=event_id,
    )


def publish_agent_event_sync(
    run_id: object,
    event_type: str,
    event_data: Data = None,
    *,
    session_id: object = None,
    thread_id: object = None,
    correlation_id: object = None,
    causation_id: object = None,
    actor: str | None = None,
    source: str = "agent",
    event_id: object = None,
) -> Envelope | None:
    """A run-scoped event (`agent.*`, the run lifecycle, verify, policy). `thread_id` is the
    legacy name of `session_id`; `run_created` needs one of them."""
    return _publish(
        {"run"},
        event_type,
        dict(event_data or {}),
        source=source,
        session_id=session_id or thread_id,
        run_id=run_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        actor=actor,
        event_id=event_id,
    )


def publish_worker_event_sync(
    job_id: object,
    event_type: str,
    event_data: Data = None,
    *,
    correlation_id: object = None,
    causation_id: object = None,
    actor: str | None = None,
    source: str = "worker",
    event_id: object = None,
) -> Envelope | None:
    """A `worker.*` event of one job."""
    payload = {**(event_data or {}), "job_id": str(job_id)}
    return _publish(
        {"job"},
        event_type,
        payload,
        source=source,
        correlation_id=correlation_id,
        causation_id=causation_id,
        actor=actor,
        event_id=event_id,
    )


def publish_system_event_sync(
    event_type: str,
    event_data: Data = None,
    *,
    session_id: object = None,
    correlation_id: object = None,
    actor: str | None = None,
    source: str = "system",
    event_id: object = None,
) -> Envelope | None:
    """A `system.*` event (or `custom.*`), in a session when one is given."""
    return _publish(
        {"session"},
        event_type,
        dict(event_data or {}),
        source=source,
        session_id=session_id,
        correlation_id=correlation_id,
        actor=actor,
        event_id=event_id,
    )


publish_deal_event = in_thread(publish_deal_event_sync)
publish_action_event = in_thread(publish_action_event_sync)
publish_agent_event = in_thread(publish_agent_event_sync)
publish_worker_event = in_thread(publish_worker_event_sync)
publish_system_event = in_thread(publish_system_event_sync)
