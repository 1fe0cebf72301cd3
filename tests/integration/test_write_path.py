"""The rebuilt write path on every store: group commit with one outcome per command, dense
`seq` under concurrency, idempotency by event id beyond the aggregate's window (and across a
restart), snapshots that stop growing, and unstorable text refused at the edge."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from application.services.base import CommandResult, Origin, new_meta
from domain.envelope import Envelope
from domain.errors import EventIdConflict, InvalidInput, NotFound, TransitionRefused
from domain.model import RECENT_IDS, aggregate_uuid
from domain.taxonomy import resolve
from entrypoints.container import Container, build, close, init_db
from entrypoints.settings import Settings
from tests.conftest import settings_for

# -- helpers -------------------------------------------------------------------------------


def total(app: Container) -> int:
    return app.queries().get_stats().total


def session_events(app: Container, session_id: str) -> list[Envelope]:
    """Every event of a session in seq order (paged through the query service)."""
    found: list[Envelope] = []
    while page := app.queries().get_events_by_session(
        session_id, since_seq=found[-1].seq if found else 0, limit=1000
    ):
        found.extend(page)
    return found


def assert_dense(events: Sequence[Envelope]) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(0..count-1)` in threads released at the same moment; each slot holds what
    the call returned or the exception it raised."""
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def body(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = work(index)
        except BaseException as error:
            outcomes[index] = error

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a writer hangs"
    return outcomes


def stripe(app: Container, kind: str, key: str) -> int:
    """The in-process lock stripe a command on this aggregate takes (Services.serialised)."""
    return zlib.crc32(f"{kind}:{key}".encode()) % len(app.deps()._stripes)


class HeldWriter:
    """Wraps the store's `commit` so that the first commit waits until `expected` commands
    are queued behind it: those then form one group commit, deterministically. Records the
    size and outcome of every commit."""

    def __init__(self, app: Container, expected: int) -> None:
        self.store = app.store()
        self.writer = app.deps().writer
        self.original = self.store.commit
        self.expected = expected
        self.holding = threading.Event()
        self.filled = False
        self.calls: list[tuple[int, BaseException | None]] = []

    def commit(self, aggregates: Sequence[Any], events: Sequence[Any]) -> list[Any]:
        if not self.holding.is_set():
            self.holding.set()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if len(self.writer._queue) >= self.expected:
                    self.filled = True
                    break
                time.sleep(0.001)
        try:
            written = self.original(aggregates, events)
        except BaseException as error:
            self.calls.append((len(aggregates), error))
            raise
        self.calls.append((len(aggregates), None))
        return written


# -- group commit ----------------------------------------------------------------------------


def test_concurrent_commands_fail_alone_and_the_rest_get_dense_seq(app: Container) -> None:
    runs = [f"r-{i}" for i in range(8)]
    for run in runs:
        app.runs().create_run("s-g", run)
        app.runs().start_run(run)
    app.runs().create_run("s-g", "r-queued")  # never started: completing it is refused
    used = app.runs().think("r-0", content="first", origin=Origin(event_id="used-1"))
    app.sessions().record("s-other", "custom.x", {}, origin=Origin(event_id="other-1"))
    before = session_events(app, "s-g")
    assert_dense(before)

    def work(index: int) -> CommandResult:
        if index == 0:
            return app.runs().complete_run("r-queued")  # TransitionRefused
        if index == 1:  # the id of r-0's event, with another payload
            return app.runs().think("r-0", content="other", origin=Origin(event_id="used-1"))
        if index == 2:  # the id of another aggregate's event
            return app.runs().think("r-1", content="x", origin=Origin(event_id="other-1"))
        if index % 2:
            return app.runs().think(runs[index % len(runs)], content=f"t-{index}")
        return app.sessions().record("s-g", "custom.note", {"i": index})

    acknowledged: list[Envelope] = []
    for _ in range(5):
        outcomes = run_together(16, work)
        assert isinstance(outcomes[0], TransitionRefused), outcomes[0]
        assert isinstance(outcomes[1], EventIdConflict), outcomes[1]
        assert isinstance(outcomes[2], EventIdConflict), outcomes[2]
        valid = outcomes[3:]
        errors = [o for o in valid if isinstance(o, BaseException)]
        assert not errors, errors
        assert all(isinstance(o, CommandResult) and o.written for o in valid)
        acknowledged.extend(e for o in valid for e in o.events)

    stored = session_events(app, "s-g")
    assert_dense(stored)
    assert len(stored) == len(before) + 5 * 13
    by_id = {e.event_id: e for e in stored}
    assert len(acknowledged) == 5 * 13
    for envelope in acknowledged:
        assert by_id[envelope.event_id] == envelope
    assert app.runs().load("r-queued").status == "queued"
    assert app.queries().get_by_id("used-1") == used.events[0]
    assert [e.event_id for e in session_events(app, "s-other")] == ["other-1"]


def test_commands_that_arrive_together_are_grouped(app: Container, store_kind: str) -> None:
    threads, per_thread, sessions = 16, 50, 4
    for s in range(sessions):
        app.sessions().record(f"s-{s}", "custom.open", {})
    writer = app.deps().writer
    groups, commands = writer.groups, writer.commands

    def work(index: int) -> list[Envelope]:
        written = []
        for i in range(per_thread):
            result = app.sessions().record(f"s-{(index + i) % sessions}", "custom.x", {"i": i})
            written.extend(result.events)
        return written

    outcomes = run_together(threads, work)
    assert not [o for o in outcomes if isinstance(o, BaseException)]
    assert writer.commands - commands == threads * per_thread
    if store_kind != "memory":  # the in-memory store may be too quick to ever queue
        assert writer.groups - groups < writer.commands - commands, (
            f"{store_kind}: {writer.groups - groups} transactions for "
            f"{writer.commands - commands} commands: no group commit"
        )
    for s in range(sessions):
        assert_dense(session_events(app, f"s-{s}"))


def test_a_group_refused_by_the_store_commits_everyone_but_the_offender(
    app: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.sessions().record("s-owner", "custom.x", {"n": 0}, origin=Origin(event_id="taken"))
    valid = [f"s-v{i}" for i in range(6)]
    racers = ["s-race-a", "s-race-b"]
    keys = ["s-hold", *valid, *racers, "s-off"]
    stripes = [stripe(app, "session", key) for key in keys]
    assert len(set(stripes)) == len(stripes), "pick keys on distinct lock stripes"
    members = len(valid) + len(racers) + 1
    held = HeldWriter(app, expected=members)
    monkeypatch.setattr(app.store(), "commit", held.commit)
    before = total(app)

    plug: list[CommandResult] = []
    plug_thread = threading.Thread(
        target=lambda: plug.append(app.sessions().record("s-hold", "custom.hold", {}))
    )
    plug_thread.start()
    assert held.holding.wait(5)

    def work(index: int) -> CommandResult:
        if index < len(valid):
            return app.sessions().record(valid[index], "custom.ok", {"i": index})
        if index < len(valid) + len(racers):  # same fresh id, two aggregates, same moment
            session = racers[index - len(valid)]
            return app.sessions().record(
                session, "custom.race", {"who": session}, origin=Origin(event_id="dup")
            )
        # an id another aggregate already stored, reaching the store (as when it is taken
        # between the command's look-up and its write)
        meta = new_meta(app.deps().ids, Origin(event_id="taken"), "s-off", None)
        payload = resolve("custom.x").parse_payload({"n": 1})
        return app.sessions().record_from("custom.x", payload, meta, given_id=False)

    outcomes = run_together(members, work)
    plug_thread.join(10)
    assert plug and plug[0].written

    assert held.filled, "the commands did not queue behind the held commit"
    failed_groups = [(size, e) for size, e in held.calls if e is not None and size > 1]
    assert failed_groups, f"no group failed in the store: {held.calls}"

    for outcome in outcomes[: len(valid)]:
        assert isinstance(outcome, CommandResult) and outcome.written, outcome
    race = outcomes[len(valid) : len(valid) + len(racers)]
    winners = [o for o in race if isinstance(o, CommandResult)]
    losers = [o for o in race if isinstance(o, EventIdConflict)]
    assert (len(winners), len(losers)) == (1, 1), race
    assert isinstance(outcomes[-1], EventIdConflict), outcomes[-1]

    for index, session in enumerate(valid):
        stored = session_events(app, session)
        assert stored == outcomes[index].events
        assert_dense(stored)
    winner = winners[0].events[0]
    assert app.queries().get_by_id("dup") == winner
    assert [session_events(app, s) for s in racers if s != winner.session_id] == [[]]
    assert session_events(app, "s-off") == []
    assert app.queries().get_by_id("taken").session_id == "s-owner"
    assert total(app) == before + 1 + len(valid) + 1
    # the offenders' aggregates were not left half-written in the cache
    assert app.sessions().record("s-off", "custom.after", {}).events[0].seq == 1
    loser = next(s for s in racers if s != winner.session_id)
    assert app.sessions().record(loser, "custom.after", {}).events[0].seq == 1


def test_a_copy_made_stale_by_another_process_fails_only_its_own_command(
    durable_settings: Settings, opened: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, other = build(durable_settings), build(durable_settings)
    opened.extend([mine, other])
    init_db(mine)
    init_db(other)
    mine.sessions().record("s-stale", "custom.x", {"by": "mine"})  # cached in `mine`
    other.sessions().record("s-stale", "custom.x", {"by": "other"})  # now that copy is stale
    sessions = ["s-stale", "s-a", "s-b", "s-c", "s-d"]
    stripes = [stripe(mine, "session", key) for key in ["s-hold", *sessions]]
    assert len(set(stripes)) == len(stripes), "pick keys on distinct lock stripes"
    held = HeldWriter(mine, expected=len(sessions))
    monkeypatch.setattr(mine.store(), "commit", held.commit)

    plug = threading.Thread(target=lambda: mine.sessions().record("s-hold", "custom.hold", {}))
    plug.start()
    assert held.holding.wait(5)
    outcomes = run_together(
        len(sessions), lambda i: mine.sessions().record(sessions[i], "custom.y", {"i": i})
    )
    plug.join(10)

    assert held.filled
    # the group fails, then the stale copy alone; it is reloaded and written again
    assert [size for size, error in held.calls if error is not None] == [len(sessions), 1]
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors
    for session, outcome in zip(sessions, outcomes, strict=True):
        stored = session_events(mine, session)
        assert_dense(stored)
        assert stored[-1:] == outcome.events
    assert [e.payload for e in session_events(other, "s-stale")] == [
        {"by": "mine"},
        {"by": "other"},
        {"i": 0},
    ]


def test_racing_repeats_of_one_command_store_it_once(app: Container) -> None:
    def work(index: int) -> Envelope | None:
        if index % 2:
            emitted = app.emitter().emit("custom.x", {"n": 1}, session_id="s-1", event_id="same")
            return emitted.envelope if emitted.created else None
        result = app.sessions().record("s-1", "custom.x", {"n": 1}, origin=Origin(event_id="same"))
        return result.events[0] if result.written else None

    outcomes = run_together(16, work)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    created = [o for o in outcomes if o is not None]
    assert len(created) == 1, outcomes
    stored = session_events(app, "s-1")
    assert stored == created
    assert total(app) == 1


def test_racing_uses_of_one_id_by_many_aggregates_store_it_once(app: Container) -> None:
    def work(index: int) -> Envelope | None:
        if index % 2:
            emitted = app.emitter().emit("custom.x", {}, session_id=f"s-{index}", event_id="one")
            return emitted.envelope
        result = app.sessions().record(f"s-{index}", "custom.x", {}, origin=Origin(event_id="one"))
        return result.events[0]

    outcomes = run_together(16, work)
    winners = [o for o in outcomes if isinstance(o, Envelope)]
    losers = [o for o in outcomes if isinstance(o, EventIdConflict)]
    assert (len(winners), len(losers)) == (1, 15), outcomes
    assert app.queries().get_by_id("one") == winners[0]
    assert total(app) == 1


# -- concurrency -----------------------------------------------------------------------------


def test_sixteen_writers_four_sessions_dense_seq_every_event_once(app: Container) -> None:
    threads, per_thread, sessions = 16, 12, 4

    def work(index: int) -> list[Envelope]:
        written: list[Envelope] = []
        for i in range(per_thread):
            session = f"s-{(index + i) % sessions}"
            if i % 2:
                emitted = app.emitter().emit("custom.x", {"t": index, "i": i}, session_id=session)
                assert emitted.created and emitted.envelope is not None
                written.append(emitted.envelope)
            else:
                result = app.sessions().record(session, "custom.y", {"t": index, "i": i})
                assert result.written
                written.extend(result.events)
        return written

    outcomes = run_together(threads, work)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors
    acknowledged = [e for written in outcomes for e in written]
    assert len(acknowledged) == threads * per_thread
    assert len({e.event_id for e in acknowledged}) == len(acknowledged)
    for s in range(sessions):
        session = f"s-{s}"
        stored = session_events(app, session)
        assert_dense(stored)
        mine = {e.event_id: e for e in acknowledged if e.session_id == session}
        assert [e.event_id for e in stored if e.event_id in mine] == [e.event_id for e in stored]
        assert {e.event_id for e in stored} == set(mine)
        for envelope in stored:
            returned = mine[envelope.event_id]
            assert (returned.seq, returned.position) == (envelope.seq, envelope.position)
            assert returned == envelope
    positions = [e.position for e in acknowledged]
    assert len(set(positions)) == len(positions)
    assert total(app) == len(acknowledged)


# -- idempotency beyond the window ---------------------------------------------------------

OTHERS = RECENT_IDS + 20


def fill_session(app: Container) -> Envelope:
    """A session event with a client id, then more events than the window holds."""
    first = app.sessions().record("s-1", "custom.first", {"n": 0}, origin=Origin(event_id="k-1"))
    for i in range(OTHERS // 2):
        app.sessions().record("s-1", "custom.more", {"i": i})
        app.emitter().emit("custom.more", {"j": i}, session_id="s-1")
    return first.events[0]


def fill_run(app: Container) -> Envelope:
    app.runs().create_run("s-r", "r-1")
    started = app.runs().start_run("r-1", phase="plan", origin=Origin(event_id="start-1"))
    for i in range(OTHERS):
        app.runs().think("r-1", content=str(i))
    return started.events[0]


def window_of(app: Container, aggregate_id: Any) -> dict[str, int]:
    aggregate = app.store().current(aggregate_id)
    window: dict[str, int] = aggregate.__dict__["recent_ids"]
    return window


def check_repeats(app: Container, session_first: Envelope, run_started: Envelope) -> None:
    """Every way of repeating the two ids: the originals back, conflicts, nothing stored."""
    before = total(app)
    assert "k-1" not in window_of(app, aggregate_uuid("session", "s-1"))
    assert "start-1" not in window_of(app, aggregate_uuid("run", "r-1"))

    again = app.sessions().record("s-1", "custom.first", {"n": 0}, origin=Origin(event_id="k-1"))
    assert (again.written, again.events) == (False, [session_first])
    emitted = app.emitter().emit("custom.first", {"n": 0}, session_id="s-1", event_id="k-1")
    assert (emitted.created, emitted.envelope) == (False, session_first)
    started = app.runs().start_run("r-1", phase="plan", origin=Origin(event_id="start-1"))
    assert (started.written, started.events) == (False, [run_started])
    emitted = app.emitter().emit("run_started", {"phase": "plan"}, run_id="r-1", event_id="start-1")
    assert (emitted.created, emitted.envelope) == (False, run_started)
    assert total(app) == before

    conflicts: list[Callable[[], object]] = [
        lambda: app.sessions().record(
            "s-1", "custom.first", {"n": 1}, origin=Origin(event_id="k-1")
        ),
        lambda: app.sessions().record(
            "s-1", "custom.other", {"n": 0}, origin=Origin(event_id="k-1")
        ),
        lambda: app.emitter().emit("custom.first", {"n": 2}, session_id="s-1", event_id="k-1"),
        lambda: app.runs().start_run("r-1", phase="act", origin=Origin(event_id="start-1")),
        lambda: app.emitter().emit("run_started", {}, run_id="r-1", event_id="start-1"),
        # the id for another aggregate
        lambda: app.sessions().record(
            "s-2", "custom.first", {"n": 0}, origin=Origin(event_id="k-1")
        ),
        lambda: app.emitter().emit("custom.first", {"n": 0}, session_id="s-2", event_id="k-1"),
        lambda: app.runs().think("r-1", content="0", origin=Origin(event_id="k-1")),
        lambda: app.sessions().record("s-1", "custom.x", {}, origin=Origin(event_id="start-1")),
        lambda: app.runs().create_run("s-r", "r-2", origin=Origin(event_id="start-1")),
    ]
    for attempt in conflicts:
        with pytest.raises(EventIdConflict):
            attempt()
    assert total(app) == before
    assert session_events(app, "s-2") == []
    assert not app.runs().exists("r-2")
    # and the aggregates still take new events
    assert app.runs().think("r-1", content="later").written
    assert app.sessions().record("s-1", "custom.later", {}).written


def test_a_repeated_event_id_is_answered_after_it_left_the_window(app: Container) -> None:
    session_first = fill_session(app)
    run_started = fill_run(app)
    check_repeats(app, session_first, run_started)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def durable_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return settings_for(str(request.param), request, tmp_path)


@pytest.fixture
def opened(durable_settings: Settings) -> Iterator[list[Container]]:
    """Containers opened by a test on the same settings; closed at the end if still open."""
    containers: list[Container] = []
    yield containers
    for container in containers:
        close(container)


def test_a_repeated_event_id_is_answered_after_a_restart(
    durable_settings: Settings, opened: list[Container]
) -> None:
    first = build(durable_settings)
    init_db(first)
    session_first = fill_session(first)
    run_started = fill_run(first)
    before = total(first)
    close(first)

    second = build(durable_settings)
    opened.append(second)
    init_db(second)
    assert total(second) == before
    check_repeats(second, session_first, run_started)


# -- snapshots ---------------------------------------------------------------------------------


def newest_snapshot(app: Container, aggregate_id: Any) -> tuple[int, int, dict[str, Any]]:
    """(version, bytes of stored state, decoded state) of the newest snapshot."""
    app.store().flush_snapshots()  # they are stored from a background thread
    snapshots = app.store().snapshots
    assert snapshots is not None
    rows = snapshots.recorder.select_events(aggregate_id, desc=True, limit=1)
    assert rows, "no snapshot taken"
    state: dict[str, Any] = snapshots.mapper.to_domain_event(rows[0]).state  # type: ignore[attr-defined]  # a Snapshot
    return rows[0].originator_version, len(rows[0].state), state


def test_snapshots_stop_growing(app: Container) -> None:
    run = aggregate_uuid("run", "r-1")
    app.runs().create_run("s-1", "r-1")
    app.runs().start_run("r-1")
    for i in range(198):
        app.runs().think("r-1", content=str(i))
    version, at_200, state = newest_snapshot(app, run)
    assert version == 200
    assert len(state["recent_ids"]) == RECENT_IDS
    for i in range(800):
        app.runs().think("r-1", content=str(i))
    version, at_1000, state = newest_snapshot(app, run)
    assert version == 1000
    assert len(state["recent_ids"]) == RECENT_IDS
    assert "applied_ids" not in state
    assert at_1000 <= at_200 * 1.2, (at_200, at_1000)
    assert app.store().repository.get(run).version == 1000


# -- unstorable text --------------------------------------------------------------------------

Poison = Callable[[Container], object]

POISON: list[tuple[str, Poison, str]] = [
    # the emitter
    (
        "emit NUL session_id",
        lambda a: a.emitter().emit("custom.x", {"a": 1}, session_id="s\x00"),
        "session_id",
    ),
    (
        "emit NUL actor",
        lambda a: a.emitter().emit("custom.x", {}, session_id="s-ok", actor="bot\x00"),
        "actor",
    ),
    (
        "emit NUL payload value",
        lambda a: a.emitter().emit("custom.x", {"a": "x\x00y"}, session_id="s-ok"),
        "payload.a",
    ),
    (
        "emit NUL nested payload value",
        lambda a: a.emitter().emit("custom.x", {"a": {"b": ["ok", "\x00"]}}, session_id="s-ok"),
        "payload.a.b.1",
    ),
    (
        "emit NUL payload key",
        lambda a: a.emitter().emit("custom.x", {"a\x00b": 1}, session_id="s-ok"),
        "payload.a\\u0000b",
    ),
    (
        "emit surrogate payload value",
        lambda a: a.emitter().emit("custom.x", {"a": "x\ud800"}, session_id="s-ok"),
        "payload.a",
    ),
    (
        "emit low surrogate payload value",
        lambda a: a.emitter().emit("custom.x", {"a": "\udc80"}, session_id="s-ok"),
        "payload.a",
    ),
    (
        "emit surrogate actor",
        lambda a: a.emitter().emit("custom.x", {}, session_id="s-ok", actor="\ud800"),
        "actor",
    ),
    (
        "emit run event NUL payload value",
        lambda a: a.emitter().emit("agent.thinking", {"content": "\x00"}, run_id="r-ok"),
        "payload.content",
    ),
    # typed service methods
    (
        "record NUL session_id",
        lambda a: a.sessions().record("s\x00", "custom.x", {}),
        "session_id",
    ),
    (
        "create_run NUL session_id",
        lambda a: a.runs().create_run("s\x00", "r-new"),
        "session_id",
    ),
    (
        "think NUL actor",
        lambda a: a.runs().think("r-ok", content="x", origin=Origin(actor="bot\x00")),
        "actor",
    ),
    (
        "think NUL payload value",
        lambda a: a.runs().think("r-ok", content="x\x00"),
        "payload.content",
    ),
    (
        "complete_run NUL payload key",
        lambda a: a.runs().complete_run("r-ok", output={"k\x00": 1}),
        "payload.output.k\\u0000",
    ),
    (
        "record NUL payload key",
        lambda a: a.sessions().record("s-ok", "custom.x", {"\x00": 1}),
        "payload.\\u0000",
    ),
    (
        "create_deal surrogate payload value",
        lambda a: a.deals().create_deal("DL-1", "Acme \ud800"),
        "payload.name",
    ),
    (
        "record surrogate payload value",
        lambda a: a.sessions().record("s-ok", "custom.x", {"a": ["\udfff"]}),
        "payload.a.0",
    ),
    (
        "think surrogate actor",
        lambda a: a.runs().think("r-ok", content="x", origin=Origin(actor="\ud800")),
        "actor",
    ),
    (
        "record surrogate session_id",
        lambda a: a.sessions().record("s\ud800", "custom.x", {}),
        "session_id",
    ),
]


def refusal_problem(app: Container, write: Poison, field: str) -> str | None:
    """What is wrong with how one poisoned write is handled (None when all is well):
    `InvalidInput` naming `field`, nothing stored, and the next writes go through with the
    next seq of the session."""
    before = total(app)
    last = session_events(app, "s-ok")[-1].seq
    try:
        write(app)
    except InvalidInput as refused:
        if refused.field != field:
            return f"field {refused.field!r}, expected {field!r}"
    except Exception as error:
        return f"raised {type(error).__module__}.{type(error).__name__}: {error}"
    else:
        return "accepted"
    if total(app) != before:
        return f"stored {total(app) - before} event(s)"
    if app.deals().exists("DL-1") or app.runs().exists("r-new"):
        return "created an aggregate"
    if app.runs().load("r-ok").status != "running":
        return "changed r-ok"
    thought = app.runs().think("r-ok", content="after")
    recorded = app.sessions().record("s-ok", "custom.after", {"ok": "ü"})
    assert last is not None
    if [e.seq for e in (*thought.events, *recorded.events)] != [last + 1, last + 2]:
        return "the next writes did not get the next seq"
    if session_events(app, "s-ok")[-2:] != [*thought.events, *recorded.events]:
        return "the next writes are not stored as acknowledged"
    return None


@pytest.mark.parametrize("via", ["emitter", "typed"])
def test_unstorable_text_is_refused_and_nothing_is_stored(app: Container, via: str) -> None:
    app.runs().create_run("s-ok", "r-ok")
    app.runs().start_run("r-ok")
    app.sessions().record("s-ok", "custom.open", {})
    cases = [(n, w, f) for n, w, f in POISON if n.startswith("emit ") == (via == "emitter")]
    assert len(cases) >= 6
    failures = [(name, refusal_problem(app, write, field)) for name, write, field in cases]
    assert not [f for f in failures if f[1] is not None], failures


def test_a_batch_with_one_unstorable_event_writes_nothing(app: Container) -> None:
    from application.emitter import EmitRequest

    app.sessions().record("s-ok", "custom.open", {})
    before = total(app)
    batch = [
        EmitRequest("custom.a", {"i": 1}, session_id="s-ok"),
        EmitRequest("custom.b", {"i": 2}, session_id="s-new"),
        EmitRequest("custom.c", {"i": "\x00"}, session_id="s-ok"),
    ]
    with pytest.raises(InvalidInput) as refused:
        app.emitter().emit_batch(batch)
    assert refused.value.field == "events.2.payload.i"  # the batch says which event
    assert total(app) == before
    assert session_events(app, "s-new") == []
    written = app.emitter().emit_batch(batch[:2])
    assert [e.created for e in written] == [True, True]
    assert total(app) == before + 2
    assert [e.seq for e in session_events(app, "s-ok")] == [1, 2]
    assert [e.seq for e in session_events(app, "s-new")] == [1]


BAD_TEXT = [pytest.param("a\x00b", id="NUL"), pytest.param("a\ud800b", id="surrogate")]


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_run_commands_keyed_by_unstorable_text_are_domain_errors(app: Container, bad: str) -> None:
    """A run command names its run by a bare key (no payload field, no metadata), so the
    key itself must be refused (or not found), never crash in the store or the id hash."""
    app.runs().create_run("s-ok", "r-ok")
    before = total(app)
    commands: list[Callable[[], object]] = [
        lambda: app.runs().start_run(bad),
        lambda: app.runs().think(bad, content="x"),
        lambda: app.runs().complete_run(bad),
        lambda: app.runs().load(bad),
    ]
    failures = []
    for index, command in enumerate(commands):
        try:
            command()
        except (InvalidInput, NotFound):
            continue
        except Exception as error:
            failures.append((index, f"{type(error).__module__}.{type(error).__name__}: {error}"))
            continue
        failures.append((index, "accepted"))
    assert not failures, failures
    assert total(app) == before


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_queries_for_unstorable_text_find_nothing(app: Container, bad: str) -> None:
    """No event can hold such text, so a query for it finds nothing (or is refused as
    invalid input); it must not reach the store as a value the store cannot take."""
    app.sessions().record("s-ok", "custom.x", {})
    queries = app.queries()
    reads: list[Callable[[], object]] = [
        lambda: queries.get_events_by_session(bad),
        lambda: queries.get_events_by_run(bad),
        lambda: queries.get_by_correlation_id(bad),
        lambda: queries.get_by_id(bad),
        lambda: queries.list_states("run", session_id=bad),
    ]
    failures = []
    for index, read in enumerate(reads):
        try:
            found = read()
        except (InvalidInput, NotFound):
            continue
        except Exception as error:
            failures.append((index, f"{type(error).__module__}.{type(error).__name__}: {error}"))
            continue
        if found != [] and getattr(found, "total", None) != 0:
            failures.append((index, repr(found)))
    assert not failures, failures


@pytest.mark.parametrize(
    "type_name", ["custom.x\n", "custom.x\x00", "custom.\ud800", "custom.X", "custom.x y"]
)
def test_custom_type_names_are_checked_whole(app: Container, type_name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        app.emitter().emit(type_name, {}, session_id="s-1")
    assert refused.value.field == "type"
    with pytest.raises(InvalidInput):
        app.sessions().record("s-1", type_name, {})
    assert total(app) == 0
