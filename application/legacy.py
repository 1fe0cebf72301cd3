"""The legacy side: the projection into the old ZakOps tables, and the import of their history.

The projection follows the log (the events table, read without rebuilding domain objects)
and hands batches of `LegacyItem`s to a `LegacyView` (the adapter that knows the old
tables). Events imported from those tables (the `Archive` aggregate) are never projected
back into them.

The importer reads rows that older software wrote (not ours) and records each, once, as an
imported event, so the new queries show the whole history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.ports import DeadLetter, LoggedEvent, TimelineView
from application.projector import Projector
from application.services.base import Services
from domain.archive import IMPORT_SOURCE, Archive
from domain.envelope import Envelope
from domain.model import EventMeta
from domain.payloads import Payload
from domain.taxonomy import resolve


@dataclass(frozen=True)
class LegacyItem:
    """One of our events, with what the legacy rows need besides the envelope."""

    envelope: Envelope
    aggregate: str  # run | deal | action | job | session
    aggregate_id: UUID
    version: int


@dataclass(frozen=True)
class LegacyRecord:
    """One row of legacy history to import."""

    event_id: str
    archive: str
    type: str
    occurred_at: datetime
    payload: dict[str, Any]
    session_id: str | None = None
    run_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    actor: str | None = None


class LegacyView(Protocol):
    """The old ZakOps tables, written exactly once per event (tracking in the same
    transaction), plus the reading of the rows older software wrote."""

    name: str

    def create_tables(self) -> None: ...

    def position(self) -> int: ...

    def commit(self, items: Sequence[LegacyItem], position: int, expected: int) -> None:
        """Write the items and move the tracking from `expected` to `position`, in one
        transaction; `UnwritableEvents` when the tables refuse the items' data."""
        ...

    def park(self, position: int, event_id: str, type_name: str, error: str, expected: int) -> None:
        """Park the event at `position` (a dead letter with the error and the time) and move
        the tracking from `expected` to that position, in one transaction."""
        ...

    def dead_letters(self) -> list[DeadLetter]: ...

    def parked_count(self) -> int: ...

    def replay(self, items: Sequence[LegacyItem], position: int) -> None:
        """Write the items of the parked event at `position` (later events already landed)
        and remove its dead letter, in one transaction; the tracking does not move."""
        ...

    def keep_parked(self, position: int, error: str) -> None: ...

    def reset(self) -> None:
        """Remove our rows, the tracking and the dead letters."""
        ...

    def foreign_history(self) -> Iterator[LegacyRecord]: ...


class LegacyProjector(Projector):
    name = "legacy"

    def __init__(self, log: TimelineView, view: LegacyView, batch_size: int = 500) -> None:
        super().__init__(log, batch_size)
        self.view = view

    def view_position(self) -> int:
        return self.view.position()

    def project(self, events: Sequence[LoggedEvent], last: int, expected: int) -> None:
        self.view.commit(list(self.items(events)), last, expected)

    def reset_view(self) -> None:
        self.view.reset()

    def park(self, event: LoggedEvent, error: str, expected: int) -> None:
        e = event.envelope
        event_id, type_name = (e.event_id, e.type) if e else ("-", "-")
        self.view.park(event.position, event_id, type_name, error, expected)

    def dead_letters(self) -> list[DeadLetter]:
        return self.view.dead_letters()

    def parked_count(self) -> int:
        return self.view.parked_count()

    def replay(self, event: LoggedEvent) -> None:
        self.view.replay(list(self.items([event])), event.position)

    def keep_parked(self, position: int, error: str) -> None:
        self.view.keep_parked(position, error)

    @staticmethod
    def items(events: Sequence[LoggedEvent]) -> Iterable[LegacyItem]:
        for event in events:
            envelope = event.envelope
            if envelope is None or envelope.source == IMPORT_SOURCE:
                continue  # imported history is never projected back into the old tables
            kind = resolve(envelope.type).aggregate
            yield LegacyItem(envelope, kind, event.aggregate_id, event.version)


@dataclass
class ImportSummary:
    read: int = 0
    imported: int = 0
    already: int = 0
    archives: set[str] = field(default_factory=set)


class LegacyImporter:
    """Imports legacy history idempotently: running it twice imports nothing new."""

    def __init__(self, deps: Services, view: LegacyView, chunk: int = 500) -> None:
        self.deps = deps
        self.view = view
        self.chunk = chunk

    def run(self, progress: Callable[[ImportSummary], None] | None = None) -> ImportSummary:
        summary = ImportSummary()
        pending: list[LegacyRecord] = []
        for record in self.view.foreign_history():
            pending.append(record)
            if len(pending) >= self.chunk:
                self._write(pending, summary)
                pending = []
                if progress is not None:
                    progress(summary)
        if pending:
            self._write(pending, summary)
        if progress is not None:
            progress(summary)
        return summary

    def _write(self, records: list[LegacyRecord], summary: ImportSummary) -> None:
        archives: dict[str, Archive] = {}
        for record in records:
            archive = archives.get(record.archive) or self._archive(record)
            archives[record.archive] = archive
            meta = EventMeta(
                event_id=record.event_id,
                source=IMPORT_SOURCE,
                session_id=record.session_id,
                run_id=record.run_id,
                correlation_id=record.correlation_id,
                causation_id=record.causation_id,
                actor=record.actor,
            )
            payload = Payload.model_validate(record.payload)
            applied = archive.record(meta, record.occurred_at, record.type, payload)
            summary.read += 1
            summary.imported += applied.new
            summary.already += not applied.new
            summary.archives.add(record.archive)
        self.deps.write(*archives.values())

    def _archive(self, record: LegacyRecord) -> Archive:
        try:
            found: Archive = self.deps.store.repository.get(Archive.id_for(record.archive))
        except AggregateNotFoundError:
            return Archive.create(record.archive, record.occurred_at)
        return found
