"""The event store: one eventsourcing `Application` holding every aggregate.

All aggregates live in this one application, so there is one notification log with one
order. Persistence (memory, SQLite, PostgreSQL), the mapper and snapshotting are settings
passed in as the library's environment by the composition root; nothing here chooses them.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, project_aggregate
from eventsourcing.domain import Snapshot
from eventsourcing.utils import Environment, EnvType

from application.cache import BoundedCache
from domain.archive import Archive
from domain.catalog import AGGREGATES
from domain.model import ZakopsAggregate

SNAPSHOT_INTERVAL = 100
log = logging.getLogger("zakops.store")


class EventStore(Application[UUID]):
    """The `zakops` application. Its name is stable: it prefixes PostgreSQL tables and keys
    the projections' tracking, so renaming the class must not change it."""

    name = "zakops"
    # The library's dataclass snapshot: the mapper stores aggregate state with the
    # library's type-preserving JSON transcodings (datetimes stay datetimes).
    snapshot_class = Snapshot
    # Every aggregate of the catalog, and the archive of imported history.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = dict.fromkeys(
        (*AGGREGATES, Archive), SNAPSHOT_INTERVAL
    )

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Unlike the library default, ignore os.environ: the composition root passes the
        # whole configuration, so a stray variable cannot switch the persistence module.
        merged = dict(type(self).env)
        if type(self).snapshotting_intervals:
            merged["IS_SNAPSHOTTING_ENABLED"] = "y"
        merged.update(env or {})
        return Environment(name, merged)

    CACHE_MAXBYTES = "AGGREGATE_CACHE_MAXBYTES"  # our setting beside the library's MAXSIZE

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env=env)
        self.on_commit: list[Callable[[], None]] = []  # called after each commit (live feed)
        if self.repository.cache is not None and self.env.get(self.CACHE_MAXBYTES):
            self.repository.cache = BoundedCache(
                max_items=int(self.env.get(self.AGGREGATE_CACHE_MAXSIZE) or 1000),
                max_bytes=int(self.env.get(self.CACHE_MAXBYTES) or 0),
            )

    def head(self) -> int:
        """The id of the newest notification (0 when the log is empty)."""
        return self.recorder.max_notification_id() or 0

    def commit(self, aggregates: Sequence[ZakopsAggregate], events: Sequence[Any]) -> list[Any]:
        """Store these events of these aggregates, in this order, in one transaction and
        return what the recorder wrote for each event, in order: its envelope with
        `position` and `seq` (None for internal events). Saved aggregates go into the cache,
        and a save that crosses a snapshot interval snapshots the aggregate it has in hand.

        Built on the library's public parts (`events.put`, `repository.cache`, `snapshots`)
        rather than `save`, because the events were collected before (the group writer
        keeps them to write each command again on its own if its group fails, in the order
        the command decided them) and because the library's snapshotting reloads every
        aggregate from the store to snapshot it."""
        written: list[Any] = []
        self.events.put(list(events), written=written)
        try:
            cache = self.repository.cache
            if cache is not None:
                for aggregate in aggregates:
                    cache.put(aggregate.id, aggregate)
            self._snapshot_crossings(aggregates, events)
        finally:  # stored: the live feed hears of it whatever happens next
            for listener in self.on_commit:
                listener()
        return written

    def load(self, aggregate_id: UUID) -> Any:
        """A copy of the aggregate for a command: from the cache as this process saved it
        (no read), or rebuilt from its snapshot and events. A copy that another process
        made stale fails on the store's version check; the caller then `forget`s it."""
        return self.repository.get(aggregate_id)

    def at_version(self, aggregate_id: UUID, version: int) -> Any:
        """The aggregate as it was after its `version`-th event (replayed from the store,
        from the nearest snapshot at or before that version; the cache is not used)."""
        return self.repository.get(aggregate_id, version=version)

    def forget(self, aggregate_id: UUID) -> None:
        cache = self.repository.cache
        if cache is not None:
            with contextlib.suppress(KeyError):
                cache.get(aggregate_id, evict=True)

    def current(self, aggregate_id: UUID) -> Any:
        """The aggregate as stored now, for reads: the cached copy brought up to date with
        any events that other processes wrote since (one indexed read)."""
        cache = self.repository.cache
        if cache is None:
            return self.repository.get(aggregate_id)
        try:
            cached = cache.get(aggregate_id)
        except KeyError:
            return self.repository.get(aggregate_id)
        newer = list(self.events.get(originator_id=aggregate_id, gt=cached.version))
        aggregate = copy.deepcopy(cached)
        return project_aggregate(aggregate, newer) if newer else aggregate

    def _snapshot_crossings(
        self, aggregates: Sequence[ZakopsAggregate], events: Sequence[Any]
    ) -> None:
        """Snapshot each saved aggregate whose version crossed a multiple of its interval."""
        if self.snapshots is None:
            return
        saved = Counter(event.originator_id for event in events)
        for aggregate in aggregates:
            interval = self.snapshotting_intervals.get(type(aggregate))
            version = aggregate.version
            if interval and version // interval > (version - saved[aggregate.id]) // interval:
                self._snapshotter.put(Snapshot.take(aggregate))

    @functools.cached_property
    def _snapshotter(self) -> SnapshotWriter:
        assert self.snapshots is not None
        return SnapshotWriter(self.snapshots.put)

    def flush_snapshots(self) -> None:
        """Wait until the snapshots taken so far are stored (tests, shutdown)."""
        if "_snapshotter" in self.__dict__:
            self._snapshotter.flush()

    def close(self) -> None:
        if "_snapshotter" in self.__dict__:
            self._snapshotter.stop()
        super().close()


class SnapshotWriter:
    """Stores snapshots from a background thread: they are a shortcut for loading, not part
    of the history, so a command does not wait for a second transaction to write one. One
    lost in a crash only means replaying more events at the next load; when the queue is
    full the snapshot is skipped (the next boundary takes another)."""

    def __init__(self, put: Callable[[list[Any]], Any], capacity: int = 1000) -> None:
        self._put = put
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name="zakops-snapshots", daemon=True)
        self._thread.start()

    def put(self, snapshot: Any) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(snapshot)

    def flush(self) -> None:
        self._queue.join()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            snapshot = self._queue.get()
            try:
                if snapshot is None:
                    return
                self._put([snapshot])
            except Exception:  # the events are committed; a snapshot is only a shortcut
                log.exception("storing a snapshot failed")
            finally:
                self._queue.task_done()
