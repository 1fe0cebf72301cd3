"""The timeline on every store: seq paging, queries, limits, rebuild determinism,
upcasting, snapshots and concurrent writers."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from adapters.persistence.mapper import EventRow
from domain.errors import InvalidInput, NotFound
from domain.model import EventMeta, aggregate_uuid
from domain.run import Run
from entrypoints.container import Container


def fill(app: Container, runs: int = 2, thoughts: int = 5) -> None:
    for r in range(runs):
        app.runs().create_run("s-1", f"r-{r}")
        app.runs().start_run(f"r-{r}")
        for i in range(thoughts):
            app.runs().think(f"r-{r}", content=str(i))
    app.sessions().record("s-1", "custom.note", {"text": "no run"})


def test_session_query_pages_by_since_seq(app: Container) -> None:
    fill(app)
    queries = app.queries()
    everything = queries.get_events_by_session("s-1", limit=1000)
    assert [e.seq for e in everything] == list(range(1, 16))
    pages, since = [], 0
    while page := queries.get_events_by_session("s-1", since_seq=since, limit=4):
        pages.append([e.seq for e in page])
        since = page[-1].seq or 0
    assert pages == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15]]


def test_run_query_keeps_original_session_seq(app: Container) -> None:
    fill(app)
    queries = app.queries()
    run_1 = queries.get_events_by_run("r-1")
    assert [e.seq for e in run_1] == list(range(8, 15))
    assert {e.run_id for e in run_1} == {"r-1"}
    assert [e.seq for e in queries.get_events_by_run("r-1", since_seq=12)] == [13, 14]
    assert queries.get_events_by_run("nope") == []


def test_session_events_without_run_are_in_the_session_query(app: Container) -> None:
    fill(app, runs=1, thoughts=1)
    events = app.queries().get_events_by_session("s-1")
    assert events[-1].type == "custom.note"
    assert events[-1].run_id is None
    assert "custom.note" not in [e.type for e in app.queries().get_events_by_run("r-0")]


def test_recent_correlation_by_id_and_stats(app: Container) -> None:
    fill(app, runs=1, thoughts=2)
    app.deals().create_deal("DL-0001", "Acme")
    queries = app.queries()
    recent = queries.get_recent(limit=3)
    assert [e.type for e in recent] == ["deal.created", "custom.note", "agent.thinking"]
    assert [e.type for e in queries.get_recent(10, types=["agent.run_started"])] == ["run_started"]
    assert queries.get_by_id(recent[0].event_id) == recent[0]
    with pytest.raises(NotFound):
        queries.get_by_id("missing")
    assert [e.type for e in queries.get_by_correlation_id("DL-0001")] == ["deal.created"]
    whole = queries.get_by_correlation_id("r-0")
    assert [e.type for e in whole] == [
        "run_created",
        "run_started",
        "agent.thinking",
        "agent.thinking",
    ]
    page = queries.get_by_correlation_id("r-0", limit=2, offset=1)
    assert [e.event_id for e in page] == [e.event_id for e in whole[1:3]]
    assert [e.event_id for e in queries.get_by_correlation_id("r-0", offset=3)] == [
        whole[3].event_id
    ]
    stats = queries.get_stats()
    assert stats.total == 6
    assert stats.by_domain == {"run": 2, "agent": 2, "custom": 1, "deal": 1}
    future = queries.get_stats(datetime.now(UTC) + timedelta(hours=1))
    assert future.total == 0


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda q: q.get_events_by_session("s", limit=0), "limit"),
        (lambda q: q.get_events_by_session("s", limit=1001), "limit"),
        (lambda q: q.get_events_by_run("r", since_seq=-1), "since_seq"),
        (lambda q: q.get_by_correlation_id("c", offset=-5), "offset"),
        (lambda q: q.get_recent(types=["bogus"]), "type"),
        (lambda q: q.list_states("run", colour="red"), "colour"),
        (lambda q: q.get_stats(datetime(2026, 1, 1)), "since"),
    ],
)
def test_bad_query_arguments_raise_our_validation_error(app: Container, call, field) -> None:  # type: ignore[no-untyped-def]  # table of lambdas
    with pytest.raises(InvalidInput) as error:
        call(app.queries())
    assert error.value.field == field


def test_listings_filter_and_page(app: Container) -> None:
    fill(app, runs=3, thoughts=0)
    app.runs().complete_run("r-1")
    queries = app.queries()
    assert queries.list_states("run").total == 3
    assert [r.key for r in queries.list_states("run", status="completed").items] == ["r-1"]
    assert queries.list_states("run", session_id="s-1", limit=2).total == 3
    assert len(queries.list_states("run", limit=2, offset=2).items) == 1
    app.runs().create_run("s-2", "r-other")
    assert queries.list_states("run").total == 4
    assert [r.key for r in queries.list_states("run", session_id="s-2").items] == ["r-other"]
    assert "r-other" not in {r.key for r in queries.list_states("run", session_id="s-1").items}
    assert queries.list_states("run", session_id="s-9").total == 0


def test_stored_v1_run_failed_is_upcast_on_read(app: Container) -> None:
    app.runs().create_run("s-1", "r-1")
    run_uuid = aggregate_uuid("run", "r-1")
    old_state = {
        "timestamp": datetime.now(UTC).isoformat(),
        "meta": EventMeta(event_id="old-1", session_id="s-1", run_id="r-1").model_dump(),
        "payload": {"message": "disk full"},
    }
    old = EventRow(
        run_uuid,
        2,
        "zakops.Run.Failed",
        json.dumps(old_state).encode(),
        event_id="old-1",
        type="run_failed",
        timestamp=datetime.now(UTC),
        session_id="s-1",
        run_id="r-1",
    )
    app.store().recorder.insert_events([old])  # as an older release wrote it
    run: Run = app.store().current(run_uuid)
    assert (run.status, run.error) == ("failed", "disk full")
    envelope = app.queries().get_by_id("old-1")
    assert (envelope.payload["error"], envelope.schema_version) == ("disk full", 2)


def test_long_runs_are_snapshotted(app: Container) -> None:
    app.runs().create_run("s-1", "r-1")
    app.runs().start_run("r-1")
    for i in range(250):
        app.runs().think("r-1", content=str(i))
    app.store().flush_snapshots()  # they are stored from a background thread
    snapshots = app.store().snapshots
    assert snapshots is not None
    taken = list(snapshots.get(aggregate_uuid("run", "r-1")))
    assert [s.originator_version for s in taken] == [100, 200]
    fresh: Run = app.store().repository.get(aggregate_uuid("run", "r-1"))
    assert fresh.version == 252
    assert fresh.started_at is not None and fresh.started_at.tzinfo is not None


def test_concurrent_writers_get_dense_seq(app: Container) -> None:
    sessions, per_thread, threads = 4, 15, 8
    for s in range(sessions):
        app.sessions().record(f"s-{s}", "custom.open", {})
    errors: list[BaseException] = []
    acknowledged: list[str] = []
    lock = threading.Lock()

    def writer(t: int) -> None:
        try:
            for i in range(per_thread):
                emitted = app.emitter().emit(
                    "custom.tick", {"t": t, "i": i}, session_id=f"s-{(t + i) % sessions}"
                )
                assert emitted.envelope is not None
                with lock:
                    acknowledged.append(emitted.envelope.event_id)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    workers = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    total = 0
    for s in range(sessions):
        events = app.queries().get_events_by_session(f"s-{s}", limit=1000)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        total += len(events)
    assert total == sessions + threads * per_thread
    found = {e.event_id for e in app.queries().get_recent(1000)}
    assert set(acknowledged) <= found
    assert len(acknowledged) == len(set(acknowledged)) == threads * per_thread
