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
from collections.abc import Sequence

from eventsourcing.persistence import Notification

from application.envelopes import envelope_of
from application.ports import ProjectionConflict, StateRow, TimelineView
from application.store import EventStore
from application.summaries import state_change
from domain.envelope import Envelope
from domain.model import ZakopsAggregate


class TimelineTimeout(Exception):
    """The timeline did not reach a position within the bounded wait."""


class Timeline:
    def __init__(self, store: EventStore, view: TimelineView, batch_size: int = 500) -> None:
        self.store = store
        self.view = view
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._position = 0

    @property
    def position(self) -> int:
        """The last notification this process knows to be projected."""
        return self._position

    def lag(self) -> int:
        """How many notifications the projection is behind the log (by id)."""
        return max(0, self.store.head() - self.view.position())

    def catch_up(self, until: int | None = None) -> int:
        """Project everything after the tracking position (up to `until` when given)."""
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
                    self.view.commit(rows, states, last, expected=position)
                except ProjectionConflict:
                    position = self.view.position()  # another worker moved it; go on from there
                    continue
                position = last
            self._position = max(self._position, position)
            return position

    def _batch(
        self, notifications: Sequence[Notification]
    ) -> tuple[list[Envelope], list[StateRow]]:
        rows: list[Envelope] = []
        states: list[StateRow] = []
        for notification in notifications:
            event = self.store.mapper.to_domain_event(notification)
            if not isinstance(event, ZakopsAggregate.Event):
                continue
            envelope = envelope_of(event, notification.id)
            rows.append(envelope)
            change = state_change(envelope)
            if change is not None:
                states.append(change)
        return rows, states

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

    def rebuild(self) -> int:
        """Drop the timeline rows and tracking, then replay the whole log."""
        with self._lock:
            self.view.reset()
            self._position = 0
        return self.catch_up()
