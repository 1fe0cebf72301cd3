"""A mapper that stores our pydantic events as JSON rows with their envelope columns.

Pydantic events are dumped once with `model_dump(mode="json")` and rebuilt with
`model_validate` (so they validate on the way back in). Each stored event is an `EventRow`:
the library's `StoredEvent` plus the envelope columns that reads need (event_id, type,
session, run, correlation, time) and the state summary it changes, which our recorders
write in the same INSERT. Stored topics are the explicit `TOPIC`s of the event classes
(`zakops.Run.Started`), never module paths. Snapshots (the library's dataclass `Snapshot`)
keep the library's own path with its type-preserving JSON transcodings, so datetimes in
aggregate state come back as datetimes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from application.envelopes import INTERNAL, envelope_from_state
from application.ports import StateRow
from application.summaries import state_change
from domain.envelope import Envelope
from domain.model import ZakopsAggregate
from domain.taxonomy import REGISTRY


@dataclass(frozen=True)
class EventRow(StoredEvent):
    """A stored event with the envelope columns our recorders write beside the library's.

    `type` is None for internal bookkeeping events (not part of any timeline)."""

    event_id: str | None = None
    type: str | None = None
    timestamp: datetime | None = None
    session_id: str | None = None
    run_id: str | None = None
    correlation_id: str | None = None
    summary: StateRow | None = None
    document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def columns(self) -> list[Any]:
        """The values our recorders insert, in their order: originator id, version, topic,
        state, event_id, type, timestamp (ISO text), session, run, correlation."""
        at = self.timestamp.isoformat() if self.timestamp is not None else None
        return [
            self.originator_id,
            self.originator_version,
            self.topic,
            self.state,
            self.event_id,
            self.type,
            at,
            self.session_id,
            self.run_id,
            self.correlation_id,
        ]

    def envelope(self, position: int, seq: int | None) -> Envelope | None:
        """The envelope of this row once stored (None for internal events)."""
        if self.type is None:
            return None
        document = self.document or json.loads(self.state)  # a row built by hand (tests)
        return envelope_from_state(self.type, document, position, seq, self.timestamp)


class PydanticMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if not isinstance(domain_event, ZakopsAggregate.Event):
            return super().to_stored_event(domain_event)
        state = domain_event.model_dump(
            mode="json", exclude={"originator_id", "originator_version"}
        )
        data = to_json(state)  # compact UTF-8 JSON, as json.dumps(..., ensure_ascii=False)
        meta = domain_event.meta
        kind: str | None = domain_event.event_type
        if kind in INTERNAL:
            kind = None
        at = domain_event.timestamp
        return EventRow(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=self._seal(data),
            event_id=meta.event_id,
            type=kind,
            timestamp=at,
            session_id=meta.session_id if kind is not None else None,  # internal: no seq
            run_id=meta.run_id,
            correlation_id=meta.correlation_id,
            summary=None
            if kind is None
            else state_change(kind, at, meta.session_id, meta.run_id, state["payload"]),
            document=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return super().to_domain_event(stored_event)
        try:
            state: dict[str, Any] = json.loads(self._unseal(stored_event.state))
            state["originator_id"] = stored_event.originator_id
            state["originator_version"] = stored_event.originator_version
            event = cls.model_validate(upcast(cls, state))
        except (ValueError, ValidationError) as error:
            msg = f"cannot read {stored_event.topic} v{stored_event.originator_version}: {error}"
            raise MapperDeserialisationError(msg) from error
        assert isinstance(event, ZakopsAggregate.Event)
        return event

    def _seal(self, data: bytes) -> bytes:
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return data

    def _unseal(self, data: bytes) -> bytes:
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        return data


def upcast(cls: type[BaseModel], state: dict[str, Any]) -> dict[str, Any]:
    """Bring a stored event's payload up to its type's current schema version."""
    spec = REGISTRY.get(getattr(cls, "TYPE", ""))
    meta = state.get("meta") or {}
    stored_version = int(meta.get("schema_version", 1))
    if spec is None or stored_version >= spec.schema_version:
        return state
    payload = spec.upcast(dict(state.get("payload") or {}), stored_version)
    return {**state, "payload": payload, "meta": {**meta, "schema_version": spec.schema_version}}
