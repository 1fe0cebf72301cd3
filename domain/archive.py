"""The Archive aggregate: history imported from the legacy ZakOps tables.

Older software wrote events straight into `zakops.agent_events` and `zakops.deal_events`.
Importing them keeps their original type (mapped to ours where one exists), time, session,
run and correlation, but does not replay them through the lifecycles (they happened under
other rules): each import source is an archive that records what it holds, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from domain.model import AggregateCreated, Applied, EventMeta, ZakopsAggregate, aggregate_uuid
from domain.payloads import Payload

IMPORT_SOURCE = "legacy-import"


class Archive(ZakopsAggregate):
    TOPIC = "zakops.Archive"
    KIND: ClassVar[str] = "archive"

    class Opened(AggregateCreated):
        TOPIC: ClassVar[str] = "zakops.Archive.Opened"
        key: str

        @property
        def event_type(self) -> str:
            return "archive.opened"

    class Imported(ZakopsAggregate.Event):
        TOPIC: ClassVar[str] = "zakops.Archive.Imported"
        name: str

        @property
        def event_type(self) -> str:
            return self.name

    @classmethod
    def create(cls, key: str, at: datetime) -> Archive:
        meta = EventMeta(event_id=f"archive:{key}", source=IMPORT_SOURCE)
        return cls(id=cls.id_for(key), meta=meta, timestamp=at, payload=Payload(), key=key)

    @staticmethod
    def id_for(key: str) -> UUID:
        return aggregate_uuid("archive", key)

    @event(Opened)
    def __init__(
        self, id: UUID, meta: EventMeta, timestamp: datetime, payload: Any, key: str
    ) -> None:
        self.archive_key: str = key
        self.imported: int = 0

    @property
    def key(self) -> str:
        return self.archive_key

    def stamp(self, meta: EventMeta, type_name: str) -> EventMeta:
        return meta  # imported metadata is kept exactly as the old system wrote it

    def record(self, meta: EventMeta, at: datetime, type_name: str, payload: Payload) -> Applied:
        """Record one imported event (once per event_id)."""
        applied = self.already_applied(meta)
        if applied is not None:
            return applied
        self._imported(meta=meta, timestamp=at, payload=payload, name=type_name)
        return self.triggered()

    @event(Imported)
    def _imported(self, meta: EventMeta, timestamp: datetime, payload: Any, name: str) -> None:
        self.imported += 1
