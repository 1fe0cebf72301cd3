"""What every projection shares: following the notification log in batches, exactly once.

A projection reads the notifications after its tracking position, decodes them, and hands
each batch to its view, which writes the batch's rows and the new position in one
transaction, checking that the position is still where the batch started (`expected`).
A crash before that commit loses nothing; a second worker gets `ProjectionConflict`,
re-reads the position and goes on from there.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Notification

from application.ports import ProjectionConflict
from application.store import EventStore
from domain.model import ZakopsAggregate

Progress = Callable[[int, int], None]
Decoded = Sequence[tuple[object, int]]  # (domain event, notification id)


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float


class Projector(ABC):
    name: str

    def __init__(self, store: EventStore, batch_size: int = 500) -> None:
        self.store = store
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._position = 0

    @abstractmethod
    def view_position(self) -> int:
        """The tracking position the view has committed."""

    @abstractmethod
    def project(self, decoded: Decoded, last: int, expected: int) -> None:
        """Write one batch and move the tracking from `expected` to `last`, atomically."""

    @abstractmethod
    def reset_view(self) -> None:
        """Remove what this projection wrote, and its tracking."""

    @property
    def position(self) -> int:
        """The last notification this process knows to be projected."""
        return self._position

    def lag(self) -> int:
        return max(0, self.store.head() - self.view_position())

    def status(self) -> ProjectionStatus:
        """How far the projection is behind the log, in events and in seconds."""
        head, position = self.store.head(), self.view_position()
        seconds = 0.0
        if head > position:
            newest = self.store.recorder.select_notifications(start=head, limit=1)
            oldest = self.store.recorder.select_notifications(start=position + 1, limit=1)
            if newest and oldest:
                newest_at = self._time(newest[0])
                seconds = max(0.0, (newest_at - self._time(oldest[0])).total_seconds())
        return ProjectionStatus(self.name, position, head, max(0, head - position), seconds)

    def _time(self, notification: Notification) -> datetime:
        event = self.store.mapper.to_domain_event(notification)
        assert isinstance(event, ZakopsAggregate.Event | Snapshot), type(event)
        return event.timestamp

    def catch_up(self, until: int | None = None, progress: Progress | None = None) -> int:
        """Project everything after the tracking position (up to `until` when given);
        `progress(position, head)` is called after each batch."""
        with self._lock:
            position = self.view_position()
            while until is None or position < until:
                notifications = self.store.recorder.select_notifications(
                    start=position + 1, limit=self.batch_size
                )
                if not notifications:
                    break
                decoded = [(self.store.mapper.to_domain_event(n), n.id) for n in notifications]
                last = notifications[-1].id
                try:
                    self.project(decoded, last, expected=position)
                except ProjectionConflict:
                    position = self.view_position()  # another worker moved it; go on from there
                    continue
                position = last
                if progress is not None:
                    progress(position, until or self.store.head())
            self._position = max(self._position, position)
            return position

    def rebuild(self, progress: Progress | None = None) -> int:
        """Remove what the projection wrote and replay the whole log. Each batch commits on
        its own, so an interrupted rebuild is simply resumed by the next catch-up."""
        with self._lock:
            self.reset_view()
            self._position = 0
            self.forget()
        return self.catch_up(progress=progress)

    def forget(self) -> None:  # noqa: B027 - optional hook, most projections keep no cache
        """Drop in-memory state that depends on the view (after a reset)."""


class Follower:
    """Keeps projections caught up from a background thread (poll, catch up, repeat)."""

    def __init__(self, projectors: Sequence[Projector], poll_seconds: float = 0.5) -> None:
        self.projectors = list(projectors)
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0

    def step(self) -> None:
        for projector in self.projectors:
            try:
                projector.catch_up()
            except Exception:  # a database hiccup must not kill the follower; next poll retries
                self.errors += 1

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.poll_seconds):
                self.step()

        self._thread = threading.Thread(target=loop, name="zakops-projections", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
