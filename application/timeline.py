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

import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from uuid import UUID

from eventsourcing.persistence import Recording

from application.envelopes import envelope_of
from application.ports import ProjectionConflict, StateRow, TimelineView
from application.projector import Decoded, Projector
from application.store import EventStore
from application.summaries import state_change
from domain.envelope import Envelope
from domain.model import ZakopsAggregate

INTERNAL = frozenset({"archive.opened"})  # bookkeeping events that are not part of history


class TimelineTimeout(Exception):
    """The timeline did not reach a position within the bounded wait."""


class Timeline(Projector):
    name = "timeline"

    def __init__(
        self, store: EventStore, view: TimelineView, batch_size: int = 500, cache_size: int = 20_000
    ) -> None:
        super().__init__(store, batch_size)
        self.view = view
        self._recent: OrderedDict[str, Envelope] = OrderedDict()
        self._cache_size = cache_size

    def view_position(self) -> int:
        return self.view.position()

    def project(self, decoded: Decoded, last: int, expected: int) -> None:
        rows, states = self._rows(decoded)
        self._remember(self.view.commit(rows, states, last, expected=expected))

    def reset_view(self) -> None:
        self.view.reset()

    def forget(self) -> None:
        self._recent.clear()

    @staticmethod
    def _rows(events: Iterable[tuple[object, int]]) -> tuple[list[Envelope], list[StateRow]]:
        rows: list[Envelope] = []
        states: list[StateRow] = []
        for event, position in events:
            if not isinstance(event, ZakopsAggregate.Event) or event.event_type in INTERNAL:
                continue
            envelope = envelope_of(event, position)
            rows.append(envelope)
            change = state_change(envelope)
            if change is not None:
                states.append(change)
        return rows, states

    def inline(self, events: Sequence[object]) -> InlineProjection:
        """A hook the store runs inside the transaction that writes `events`."""
        return InlineProjection(self, list(events))

    def record(
        self,
        recordings: Sequence[Recording[UUID]],
        timeout: float = 5.0,
        inline: InlineProjection | None = None,
    ) -> None:
        """Project what this process has just saved, then return (bounded by `timeout`).

        Fast path: when the recordings directly follow the projected position, their
        events are already in memory, so they are projected without reading the log back.
        Otherwise (another writer came between, or ids have a gap) catch up from the log."""
        if not recordings:
            return
        first, last = recordings[0].notification.id, recordings[-1].notification.id
        if inline is not None and inline.rows is not None:
            self._remember(inline.rows)  # projected in the events' own transaction
            self._position = max(self._position, last)
            return
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


class InlineProjection:
    """Projects one save's events inside the save's own transaction (see
    adapters/persistence/inline.py); `rows` stays None when the timeline was behind."""

    def __init__(self, timeline: Timeline, events: list[object]) -> None:
        self.timeline = timeline
        self.events = events
        self.rows: list[Envelope] | None = None

    def __call__(self, cursor: object, ids: Sequence[int], previous: int) -> None:
        if len(ids) != len(self.events):
            return  # not the save this hook was made for; let the log decide
        rows, states = self.timeline._rows(zip(self.events, ids, strict=True))
        self.rows = self.timeline.view.commit_inline(cursor, rows, states, ids[-1], previous)
