"""What every projection shares: following the log in batches, exactly once.

A projection reads the stored events after its tracking position straight from the events
table (envelopes rendered from the stored JSON, no domain objects rebuilt) and hands each
batch to its view, which writes the batch's rows and the new position in one transaction,
checking that the position is still where the batch started (`expected`). A crash before
that commit loses nothing; a second worker gets `ProjectionConflict`, re-reads the position
and goes on from there.

A batch the view refuses for its data (`UnwritableEvents`) is split in halves until the
event at fault is alone; that one is parked (a dead letter with the error, committed with
the tracking position) and logged, and the projection goes on with the next events. Parked
events are reported by `status()` and written again by `retry()` once the cause is fixed.
An unreachable view is not the events' fault: that error propagates and the same batch is
tried again at the next catch-up.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from application.ports import (
    DeadLetter,
    LoggedEvent,
    ProjectionConflict,
    TimelineView,
    UnwritableEvents,
)

Progress = Callable[[int, int], None]
log = logging.getLogger("zakops.projections")


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float
    parked: int = 0


@dataclass(frozen=True)
class RetryOutcome:
    """What `Projector.retry` did: parked events written now, and those still parked."""

    name: str
    written: int
    still_parked: int


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
        """Remove what this projection wrote, its tracking and its dead letters."""

    @abstractmethod
    def park(self, event: LoggedEvent, error: str, expected: int) -> None:
        """Record `event` as a dead letter and move the tracking from `expected` to its
        position, atomically."""

    @abstractmethod
    def dead_letters(self) -> list[DeadLetter]:
        """The parked events, oldest position first."""

    @abstractmethod
    def parked_count(self) -> int: ...

    @abstractmethod
    def replay(self, event: LoggedEvent) -> None:
        """Write one parked event (the tracking does not move) and remove its dead letter,
        atomically; `UnwritableEvents` when it still cannot be written."""

    @abstractmethod
    def keep_parked(self, position: int, error: str) -> None:
        """Record a failed retry of the dead letter at `position`."""

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
        return ProjectionStatus(
            self.name, position, head, max(0, head - position), seconds, self.parked_count()
        )

    def catch_up(self, until: int | None = None, progress: Progress | None = None) -> int:
        """Project everything after the tracking position (up to `until` when given);
        `progress(position, head)` is called after each batch."""
        with self._lock:
            position = self.view_position()
            while until is None or position < until:
                events = self.log.log_after(position, self.batch_size)
                if not events:
                    break
                try:
                    position = self._write(events, expected=position)
                except ProjectionConflict:
                    position = self.view_position()  # another worker moved it; go on from there
                    continue
                if progress is not None:
                    progress(position, until or self.log.head())
            self._position = max(self._position, position)
            return position

    def _write(self, events: Sequence[LoggedEvent], expected: int) -> int:
        """Write `events` after `expected`; return the position reached. A refused batch is
        split in halves, so every event the view can write lands and only the one at fault
        is parked."""
        last = events[-1].position
        try:
            self.project(events, last, expected)
        except UnwritableEvents as error:
            if len(events) == 1:
                self._park(events[0], error, expected)
            else:
                half = len(events) // 2
                self._write(events[half:], self._write(events[:half], expected))
        return last

    def _park(self, event: LoggedEvent, error: UnwritableEvents, expected: int) -> None:
        reason = str(error)
        event_id = event.envelope.event_id if event.envelope else "-"
        self.park(event, reason, expected)
        log.error(
            "projection %s parked event %s at position %d: %s (see `zakops projections "
            "status`; `zakops projections retry %s` after fixing the cause)",
            self.name,
            event_id,
            event.position,
            reason,
            self.name,
        )

    def retry(self) -> RetryOutcome:
        """Write every parked event again, oldest first; those that now succeed leave the
        dead letters, the others stay with their new error."""
        written = still = 0
        with self._lock:
            for letter in self.dead_letters():
                found = self.log.log_after(letter.position - 1, 1)
                try:
                    if not found or found[0].position != letter.position:
                        raise UnwritableEvents(f"no event at position {letter.position}")
                    self.replay(found[0])
                    written += 1
                except UnwritableEvents as error:
                    self.keep_parked(letter.position, str(error))
                    still += 1
        if still:
            log.warning("projection %s: %d event(s) still parked after retry", self.name, still)
        return RetryOutcome(self.name, written, still)

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
        self._failing: set[str] = set()

    def step(self) -> None:
        for projector in self.projectors:
            try:
                projector.catch_up()
            except Exception:  # a database hiccup must not kill the follower; next poll retries
                self.errors += 1
                if projector.name not in self._failing:  # once per outage, not once per poll
                    self._failing.add(projector.name)
                    log.exception("projection %s: catch-up failed; retrying", projector.name)
            else:
                if projector.name in self._failing:
                    self._failing.discard(projector.name)
                    log.warning("projection %s: catching up again", projector.name)

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
