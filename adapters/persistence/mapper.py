"""A mapper that stores our pydantic events as JSON and upcasts old schema versions.

Pydantic events are dumped with `model_dump(mode="json")` and rebuilt with `model_validate`,
so they validate on the way back in. Stored topics are the explicit `TOPIC`s of the event
classes (`zakops.Run.Started`), never module paths. Snapshots (the library's dataclass
`Snapshot`) keep the library's own path with its type-preserving JSON transcodings, so
datetimes in aggregate state come back as datetimes.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel, ValidationError

from domain.model import ZakopsAggregate
from domain.taxonomy import REGISTRY


class PydanticMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if not isinstance(domain_event, BaseModel):
            return super().to_stored_event(domain_event)
        state = domain_event.model_dump(
            mode="json", exclude={"originator_id", "originator_version"}
        )
        data = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=self._seal(data),
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
