"""From stored events to envelopes (the wire format), without validating them again.

Events were validated when they were made, so every path that only renders them (the
answer of a command, the reads, the legacy projection) builds envelopes with
`Envelope.trusted` from the JSON the store keeps: one `json.loads` per event, no pydantic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.envelope import Envelope
from domain.taxonomy import REGISTRY

INTERNAL = frozenset({"archive.opened"})  # bookkeeping events that are not part of history


def envelope_from_state(
    type_name: str,
    state: dict[str, Any],
    position: int | None,
    seq: int | None,
    timestamp: datetime | None = None,
) -> Envelope:
    """The envelope of a stored event from its JSON state (`meta`, `payload`, `timestamp`).

    Payloads stored under an older schema version are upcast here, as the mapper does for
    domain events."""
    meta: dict[str, Any] = state["meta"]
    payload: dict[str, Any] = state["payload"]
    version = int(meta.get("schema_version", 1))
    spec = REGISTRY.get(type_name)
    if spec is not None and version < spec.schema_version:
        payload = spec.upcast(dict(payload), version)
        version = spec.schema_version
    return Envelope.trusted(
        {
            "type": type_name,
            "timestamp": timestamp or datetime.fromisoformat(state["timestamp"]),
            "session_id": meta.get("session_id"),
            "seq": seq,
            "run_id": meta.get("run_id"),
            "event_id": meta["event_id"],
            "source": meta.get("source", "api"),
            "position": position,
            "correlation_id": meta.get("correlation_id"),
            "causation_id": meta.get("causation_id"),
            "actor": meta.get("actor"),
            "schema_version": version,
            "payload": payload,
        }
    )
