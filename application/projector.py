"""What every projection shares: following the log in batches, exactly once.

A projection reads the stored events after its tracking position straight from the events
table (envelopes rendered from the stored JSON, no domain objects rebuilt) and hands each
batch to its view, which writes the batch's rows and the new position in one transaction,
checking that the position is still where the batch started (`expected`). A crash before
that commit loses nothing; a second worker gets `ProjectionConflict`, re-reads the position
and goes on from there.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from application.ports import LoggedEvent, ProjectionConflict, TimelineView

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float


class Projector(ABC):
    name: str

    def __init__(self, log: TimelineView, batch_size: int = 500) -> None:
        self.log = log
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._position = 0

    @abstractmethod
    def view_position(self) -> int:
        """The tracking position the view has committed."""

    @abstractmethod
    def project(self, events: Sequence[LoggedEvent], last: int, expected: int) -> None:
        """Write one batch and move the tracking from `expected` to `last`, atomically."""

    @abstractmethod
    def reset_view(self) -> None:
        """Remove what this projection wrote, and its tracking."""

    @property
    def position(self) -> int:
        """The last position this process knows to be projected."""
        return self._position

    def lag(self) -> int:
        return max(0, self.log.head() - self.view_position())

    def status(self) -> ProjectionStatus:
        """How far the projection is behind the log, in events and in seconds."""
        head, position = self.log.head(), self.view_position()
        seconds = 0.0
        if head > position:
            oldest = [e.envelope for e in self.log.log_after(position, 1) if e.envelope]
            newest = self.log.recent(1, ())
            if oldest and newest:
                gap = newest[0].timestamp - oldest[0].timestamp
                seconds = max(0.0, gap.total_seconds())
        return ProjectionStatus(self.name, position, head, max(0, head - position), seconds)

    def catch_up(self, until: int | None = None, progress: Progress | None = None) -> int:
        """Project everything after the tracking position (up to `until` when given);
        `progress(position, head)` is called after each batch."""
        with self._lock:
            position = self.view_position()
            while until is None or position < until:
                events = self.log.log_after(position, self.batch_size)
                if not events:
                    break
                last = events[-1].position
                try:
                    self.project(events, last, expected=position)
                except ProjectionConflict:
                    position = self.view_position()  # another worker moved it; go on from there
                    continue
                position = last
                if progress is not None:
                    progress(position, until or self.log.head())
            self._position = max(self._position, position)
            return position

    def rebuild(self, progress: Progress | None = None) -> int:
        """Remove what the projection wrote and replay the whole log. Each batch commits on
        its own, so an interrupted rebuild is simply resumed by the next catch-up."""
        with self._lock:
            self.reset_view()
            self._position = 0
        return self.catch_up(progress=progress)


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
