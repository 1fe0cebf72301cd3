"""SessionService.record on one session, again and again (issue 10, item 8: a stripe lock that
was not re-entrant deadlocked the second record to a session)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from application.services.base import CommandResult
from entrypoints.container import Container

DEADLINE = 60.0  # seconds; a deadlock shows as a thread still alive after it


def finishes(work: Callable[[], None], threads: int = 1) -> None:
    """Run `work` in `threads` threads; fail (instead of hanging the suite) on a deadlock."""
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    started = [threading.Thread(target=guarded, daemon=True) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(DEADLINE)
    assert not any(t.is_alive() for t in started), "SessionService.record deadlocked"
    assert errors == []


def test_record_twice_to_one_session(app: Container) -> None:
    sessions = app.sessions()
    results: list[CommandResult] = []
    finishes(
        lambda: results.extend(sessions.record("s-twice", "custom.note", {"i": i}) for i in (1, 2))
    )
    assert [[e.seq for e in r.events] for r in results] == [[1], [2]]


def test_record_many_times_to_one_session_from_two_threads(app: Container) -> None:
    sessions = app.sessions()
    sessions.record("s-many", "custom.open", {})

    def writer() -> None:
        for i in range(10):
            sessions.record("s-many", "custom.tick", {"i": i})

    finishes(writer, threads=2)
    seqs = [e.seq for e in app.queries().get_events_by_session("s-many")]
    assert seqs == list(range(1, 22))


def test_emitter_records_to_one_session_twice_and_in_one_batch(app: Container) -> None:
    from application.emitter import EmitRequest

    emitter = app.emitter()

    def work() -> None:
        emitter.emit("custom.one", {}, session_id="s-emit")
        emitter.emit("custom.two", {}, session_id="s-emit")
        emitter.emit_batch([EmitRequest("custom.three", {}, "s-emit")] * 2)

    finishes(work)
    seqs = [e.seq for e in app.queries().get_events_by_session("s-emit")]
    assert seqs == [1, 2, 3, 4]
