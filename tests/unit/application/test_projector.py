"""Following the log exactly once (application/projector.py), with an in-memory view."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from application.ports import DeadLetter, LoggedEvent, ProjectionConflict, UnwritableEvents
from application.projector import Follower, Projector
from tests.unit.application.conftest import App

AT = datetime(2026, 2, 6, tzinfo=UTC)


class MemoryProjector(Projector):
    name = "memory"

    def __init__(self, app: App, batch_size: int = 500) -> None:
        super().__init__(app.table, batch_size)
        self.tracking = 0
        self.rows: list[int] = []  # positions written
        self.batches: list[list[int]] = []
        self.refuse: set[int] = set()  # positions the view cannot write
        self.letters: dict[int, DeadLetter] = {}
        self.rival_moves: list[int] = []  # positions another worker moves the tracking to

    def view_position(self) -> int:
        return self.tracking

    def project(self, events: Sequence[LoggedEvent], last: int, expected: int) -> None:
        if self.rival_moves:
            self.tracking = self.rival_moves.pop(0)
        if self.tracking != expected:
            raise ProjectionConflict
        positions = [e.position for e in events]
        self.batches.append(positions)
        if self.refuse & set(positions):
            raise UnwritableEvents(f"cannot write {sorted(self.refuse & set(positions))}")
        self.rows += positions
        self.tracking = last

    def reset_view(self) -> None:
        self.tracking, self.rows, self.letters = 0, [], {}

    def park(self, event: LoggedEvent, error: str, expected: int) -> None:
        assert self.tracking == expected
        assert event.envelope is not None
        self.letters[event.position] = DeadLetter(
            self.name,
            event.position,
            event.envelope.event_id,
            event.envelope.type,
            error,
            AT,
            1,
            AT,
        )
        self.tracking = event.position

    def dead_letters(self) -> list[DeadLetter]:
        return [self.letters[p] for p in sorted(self.letters)]

    def parked_count(self) -> int:
        return len(self.letters)

    def replay(self, event: LoggedEvent) -> None:
        if event.position in self.refuse:
            raise UnwritableEvents("still broken")
        self.rows.append(event.position)
        del self.letters[event.position]

    def keep_parked(self, position: int, error: str) -> None:
        letter = self.letters[position]
        self.letters[position] = DeadLetter(
            letter.projection,
            position,
            letter.event_id,
            letter.type,
            error,
            AT,
            letter.attempts + 1,
            AT,
        )


def events(app: App, count: int) -> None:
    for i in range(count):
        app.sessions.record("s-1", "custom.tick", {"i": i})


def test_catch_up_projects_everything_in_batches(app: App) -> None:
    events(app, 5)
    projector = MemoryProjector(app, batch_size=2)
    seen: list[tuple[int, int]] = []
    assert projector.catch_up(progress=lambda at, head: seen.append((at, head))) == 5
    assert projector.rows == [1, 2, 3, 4, 5]
    assert projector.batches == [[1, 2], [3, 4], [5]]
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert projector.position == 5
    assert projector.catch_up() == 5  # nothing new
    assert projector.batches == [[1, 2], [3, 4], [5]]


def test_catch_up_stops_at_until(app: App) -> None:
    events(app, 5)
    projector = MemoryProjector(app, batch_size=2)
    seen: list[tuple[int, int]] = []
    assert projector.catch_up(until=3, progress=lambda at, head: seen.append((at, head))) == 4
    assert projector.rows == [1, 2, 3, 4]
    assert seen == [(2, 3), (4, 3)]
    assert projector.catch_up(until=4) == 4
    assert projector.rows == [1, 2, 3, 4]


def test_another_worker_moving_the_tracking_is_followed(app: App) -> None:
    events(app, 4)
    projector = MemoryProjector(app, batch_size=2)
    projector.rival_moves = [2]  # another worker projected 1..2 meanwhile
    assert projector.catch_up() == 4
    assert projector.rows == [3, 4]


def test_the_event_at_fault_is_parked_alone(app: App, caplog: pytest.LogCaptureFixture) -> None:
    events(app, 7)
    projector = MemoryProjector(app, batch_size=7)
    projector.refuse = {5}
    with caplog.at_level(logging.ERROR, "zakops.projections"):
        assert projector.catch_up() == 7
    event_id = app.table.after(4, 1)[0].event_id
    assert [r.getMessage() for r in caplog.records] == [
        f"projection memory parked event {event_id} at position 5: cannot write [5] (see "
        "`zakops projections status`; `zakops projections retry memory` after fixing the cause)"
    ]
    assert sorted(projector.rows) == [1, 2, 3, 4, 6, 7]
    [letter] = projector.dead_letters()
    assert (letter.position, letter.type, letter.error) == (5, "custom.tick", "cannot write [5]")
    assert "parked event" in caplog.text and "position 5" in caplog.text
    status = projector.status()
    assert (status.position, status.head, status.lag_events, status.parked) == (7, 7, 0, 1)


def test_status_measures_the_lag(app: App) -> None:
    projector = MemoryProjector(app)
    assert (projector.position, projector.lag()) == (0, 0)
    assert projector.catch_up() == 0
    assert projector.position == 0
    empty = projector.status()
    assert (empty.name, empty.position, empty.head, empty.lag_events) == ("memory", 0, 0, 0)
    assert empty.lag_seconds == 0.0
    events(app, 4)  # the step clock: one second apart
    status = projector.status()
    assert (status.head, status.lag_events, status.lag_seconds) == (4, 4, 3.0)
    assert projector.lag() == 4
    projector.batch_size = 1
    assert projector.catch_up(until=2) == 2
    assert projector.lag() == 2
    later = projector.status()
    assert (later.position, later.lag_events, later.lag_seconds) == (2, 2, 1.0)
    projector.catch_up(until=3)
    assert projector.lag() == 1
    assert projector.status().lag_seconds == 0.0  # the one event left is oldest and newest
    projector.catch_up()
    assert (projector.lag(), projector.position) == (0, 4)


def test_retry_writes_what_can_be_written_now(app: App, caplog: pytest.LogCaptureFixture) -> None:
    events(app, 4)
    projector = MemoryProjector(app, batch_size=4)
    projector.refuse = {2, 3}
    projector.catch_up()
    assert [letter.position for letter in projector.dead_letters()] == [2, 3]
    projector.refuse = {3}
    caplog.clear()
    with caplog.at_level(logging.WARNING, "zakops.projections"):
        outcome = projector.retry()
    assert (outcome.name, outcome.written, outcome.still_parked) == ("memory", 1, 1)
    assert [r.getMessage() for r in caplog.records] == [
        "projection memory: 1 event(s) still parked after retry"
    ]
    [letter] = projector.dead_letters()
    assert (letter.position, letter.error, letter.attempts) == (3, "still broken", 2)
    projector.refuse = set()
    caplog.clear()
    assert projector.retry().written == 1
    assert caplog.records == []
    assert sorted(projector.rows) == [1, 2, 3, 4]


def test_retry_of_a_letter_whose_event_is_gone_keeps_it(app: App) -> None:
    events(app, 4)
    projector = MemoryProjector(app)
    projector.letters[9] = DeadLetter("memory", 9, "e", "t", "x", AT, 1, AT)
    projector.letters[10] = DeadLetter("memory", 10, "e", "t", "x", AT, 1, AT)
    for position in (2, 3):
        projector.letters[position] = DeadLetter("memory", position, "e", "t", "x", AT, 1, AT)
    outcome = projector.retry()
    assert (outcome.written, outcome.still_parked) == (2, 2)
    assert projector.letters[9].error == "no event at position 9"
    assert sorted(projector.rows) == [2, 3]


def test_rebuild_replays_the_whole_log(app: App) -> None:
    events(app, 3)
    projector = MemoryProjector(app)
    projector.catch_up()
    projector.rows = [99]
    seen: list[tuple[int, int]] = []
    assert projector.rebuild(progress=lambda at, head: seen.append((at, head))) == 3
    assert projector.rows == [1, 2, 3]
    assert seen == [(3, 3)]


def test_rebuilding_an_empty_log_starts_at_zero(app: App) -> None:
    projector = MemoryProjector(app)
    assert projector.rebuild() == 0
    assert projector.position == 0


class Failing(MemoryProjector):
    failures = 0

    def catch_up(self, until: int | None = None, progress: object = None) -> int:
        if self.failures:
            self.failures -= 1
            raise OSError("database down")
        return super().catch_up()


def test_the_follower_survives_failures_and_logs_once_per_outage(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    events(app, 2)
    failing, healthy = Failing(app), MemoryProjector(app)
    failing.name = "failing"
    failing.failures = 2
    follower = Follower([failing, healthy], poll_seconds=0.01)
    with caplog.at_level(logging.WARNING, "zakops.projections"):
        follower.step()
        follower.step()
        assert healthy.rows == [1, 2] and failing.rows == []
        assert follower.errors == 2
        assert [r.getMessage() for r in caplog.records] == [
            "projection failing: catch-up failed; retrying"
        ]
        follower.step()
    assert failing.rows == [1, 2]
    assert [r.getMessage() for r in caplog.records][-1] == "projection failing: catching up again"
    follower.step()
    assert caplog.text.count("catching up again") == 1


class Signalling(MemoryProjector):
    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.caught_up = threading.Event()

    def catch_up(self, until: int | None = None, progress: object = None) -> int:
        reached = super().catch_up()
        self.caught_up.set()
        return reached


def test_the_follower_thread_polls_until_stopped(app: App) -> None:
    events(app, 2)
    projector = Signalling(app)
    follower = Follower([projector], poll_seconds=0.001)
    assert follower.poll_seconds == 0.001
    Follower([projector]).stop()  # not started: nothing to join
    follower.start()
    assert follower._thread is not None
    assert (follower._thread.name, follower._thread.daemon) == ("zakops-projections", True)
    assert projector.caught_up.wait(timeout=10)  # polled by the thread, not by this test
    follower.stop()
    assert projector.rows == [1, 2]
    assert not follower._thread.is_alive()
