"""The event store: one eventsourcing `Application` holding every aggregate.

All aggregates live in this one application, so there is one notification log with one
order. Persistence (memory, SQLite, PostgreSQL), the mapper and snapshotting are settings
passed in as the library's environment by the composition root; nothing here chooses them.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Recording
from eventsourcing.utils import Environment, EnvType

from domain.action import Action
from domain.archive import Archive
from domain.deal import Deal
from domain.job import Job
from domain.run import Run
from domain.session import Session

SNAPSHOT_INTERVAL = 100


class EventStore(Application[UUID]):
    """The `zakops` application. Its name is stable: it prefixes PostgreSQL tables and keys
    the projections' tracking, so renaming the class must not change it."""

    name = "zakops"
    # The library's dataclass snapshot: the mapper stores aggregate state with the
    # library's type-preserving JSON transcodings (datetimes stay datetimes).
    snapshot_class = Snapshot
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Run: SNAPSHOT_INTERVAL,
        Deal: SNAPSHOT_INTERVAL,
        Action: SNAPSHOT_INTERVAL,
        Job: SNAPSHOT_INTERVAL,
        Session: SNAPSHOT_INTERVAL,
        Archive: SNAPSHOT_INTERVAL,
    }

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Unlike the library default, ignore os.environ: the composition root passes the
        # whole configuration, so a stray variable cannot switch the persistence module.
        merged = dict(type(self).env)
        if type(self).snapshotting_intervals:
            merged["IS_SNAPSHOTTING_ENABLED"] = "y"
        merged.update(env or {})
        return Environment(name, merged)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        recordings = super()._record(processing_event)
        # With fast-forwarding on, the library leaves the cache at the old version, so the
        # next command would read back and replay the events it has just written. The
        # aggregates we saved are current: cache them. (Fast-forward still picks up events
        # that other processes write after this.)
        cache = self.repository.cache
        if cache is not None and self.repository.fastforward:
            for aggregate_id, aggregate in processing_event.aggregates.items():
                cache.put(aggregate_id, aggregate)
        return recordings

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # The library reloads an aggregate from the store to snapshot it at the exact
        # boundary version. The aggregate we just saved is already in memory, so snapshot
        # that instead whenever a save crosses an interval boundary: same state, no reload.
        if self.snapshots is None:
            return
        written: dict[UUID, int] = {}
        for event in processing_event.events:
            written[event.originator_id] = written.get(event.originator_id, 0) + 1
        for aggregate_id, aggregate in processing_event.aggregates.items():
            interval = self.snapshotting_intervals.get(type(aggregate))
            version = getattr(aggregate, "version", 0)
            if (
                interval
                and version // interval > (version - written.get(aggregate_id, 0)) // interval
            ):
                self.snapshots.put([Snapshot.take(aggregate)])

    def head(self) -> int:
        """The id of the newest notification (0 when the log is empty)."""
        return self.recorder.max_notification_id() or 0
