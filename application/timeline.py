"""The timeline projection: notification log -> envelope table with a per-session `seq`.

It reads notifications after its tracking position in batches and hands each batch to the
`TimelineView`, which writes the rows, the state summaries and the new position in one
transaction (exactly once: a crash before the commit loses nothing, a crash after it has
already moved the position). Commands help it along: after saving, the writing thread runs
`wait(position)`, which catches the projection up itself unless another thread of this
process is doing so, so a single writer sees its own `seq` without a background hop, and
concurrent writers share batches.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import Notification, Recording

from application.envelopes import envelope_of
from application.ports import ProjectionConflict, StateRow, TimelineView
from application.store import EventStore
from application.summaries import state_change
from domain.envelope import Envelope
from domain.model import ZakopsAggregate


class TimelineTimeout(Exception):
    """The timeline did not reach a position within the bounded wait."""


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float


class Timeline:
    def __init__(
        self, store: EventStore, view: TimelineView, batch_size: int = 500, cache_size: int = 20_000
    ) -> None:
        self.store = store
        self.view = view
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._position = 0
        self._recent: OrderedDict[str, Envelope] = OrderedDict()
        self._cache_size = cache_size

    @property
    def position(self) -> int:
        """The last notification this process knows to be projected."""
        return self._position

    def lag(self) -> int:
        """How many notifications the projection is behind the log (by id)."""
        return max(0, self.store.head() - self.view.position())

    def status(self) -> ProjectionStatus:
        """How far the projection is behind the log, in events and in seconds."""
        head, position = self.store.head(), self.view.position()
        seconds = 0.0
        if head > position:
            newest = self.store.recorder.select_notifications(start=head, limit=1)
            oldest = self.store.recorder.select_notifications(start=position + 1, limit=1)
            if newest and oldest:
                newest_at = self.store.mapper.to_domain_event(newest[0]).timestamp  # type: ignore[attr-defined]  # our events carry a timestamp
                oldest_at = self.store.mapper.to_domain_event(oldest[0]).timestamp  # type: ignore[attr-defined]  # our events carry a timestamp
                seconds = max(0.0, (newest_at - oldest_at).total_seconds())
        return ProjectionStatus(self.view.name, position, head, max(0, head - position), seconds)

    def catch_up(
        self, until: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Project everything after the tracking position (up to `until` when given);
        `progress(position, head)` is called after each batch."""
        with self._lock:
            position = self.view.position()
            while until is None or position < until:
                notifications = self.store.recorder.select_notifications(
                    start=position + 1, limit=self.batch_size
                )
                if not notifications:
                    break
                rows, states = self._batch(notifications)
                last = notifications[-1].id
                try:
                    self._remember(self.view.commit(rows, states, last, expected=position))
                except ProjectionConflict:
                    position = self.view.position()  # another worker moved it; go on from there
                    continue
                position = last
                if progress is not None:
                    progress(position, until or self.store.head())
            self._position = max(self._position, position)
            return position

    def _batch(
        self, notifications: Sequence[Notification]
    ) -> tuple[list[Envelope], list[StateRow]]:
        decoded = [(self.store.mapper.to_domain_event(n), n.id) for n in notifications]
        return self._rows(decoded)

    @staticmethod
    def _rows(events: Iterable[tuple[object, int]]) -> tuple[list[Envelope], list[StateRow]]:
        rows: list[Envelope] = []
        states: list[StateRow] = []
        for event, position in events:
            if not isinstance(event, ZakopsAggregate.Event):
                continue
            envelope = envelope_of(event, position)
            rows.append(envelope)
            change = state_change(envelope)
            if change is not None:
                states.append(change)
        return rows, states

    def record(self, recordings: Sequence[Recording[UUID]], timeout: float = 5.0) -> None:
        """Project what this process has just saved, then return (bounded by `timeout`).

        Fast path: when the recordings directly follow the projected position, their
        events are already in memory, so they are projected without reading the log back.
        Otherwise (another writer came between, or ids have a gap) catch up from the log."""
        if not recordings:
            return
        first, last = recordings[0].notification.id, recordings[-1].notification.id
        if self._position == first - 1 and self._lock.acquire(timeout=timeout):
            try:
                if self._position == first - 1:
                    pairs = ((r.domain_event, r.notification.id) for r in recordings)
                    rows, states = self._rows(pairs)
                    self._remember(self.view.commit(rows, states, last, expected=first - 1))
                    self._position = last
                    return
            except ProjectionConflict:
                pass  # the view moved on without us; the log decides below
            finally:
                self._lock.release()
        self.wait(last, timeout)

    def _remember(self, rows: Sequence[Envelope]) -> None:
        for row in rows:
            self._recent[row.event_id] = row
        while len(self._recent) > self._cache_size:
            self._recent.popitem(last=False)

    def lookup(self, event_ids: Sequence[str]) -> list[Envelope]:
        """Envelopes by event id: recently projected ones from memory, others from the view."""
        found = {i: self._recent[i] for i in event_ids if i in self._recent}
        missing = [i for i in event_ids if i not in found]
        if missing:
            found.update({e.event_id: e for e in self.view.by_ids(missing)})
        return [found[i] for i in event_ids if i in found]

    def wait(self, position: int, timeout: float = 5.0) -> None:
        """Return once the timeline has processed `position`; raise after `timeout` s."""
        deadline = time.monotonic() + timeout
        delay = 0.001
        while self._position < position:
            if self._lock.acquire(timeout=max(0.0, min(delay, deadline - time.monotonic()))):
                self._lock.release()
                if self._position < position:
                    self.catch_up(until=position)
                continue
            if time.monotonic() >= deadline:
                raise TimelineTimeout(f"timeline did not reach position {position} in {timeout}s")
            delay = min(delay * 2, 0.05)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Drop the timeline rows and tracking, then replay the whole log. Each batch commits
        on its own, so an interrupted rebuild is simply resumed by the next catch-up."""
        with self._lock:
            self.view.reset()
            self._position = 0
            self._recent.clear()
        return self.catch_up(progress=progress)
