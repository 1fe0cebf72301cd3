"""The event store (application/store.py): its environment, the aggregate cache, snapshots
taken at interval boundaries that carry the dedup window, and the snapshot writer."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from adapters.persistence.environment import library_env
from application import store as store_module
from application.cache import BoundedCache
from application.services.base import Origin
from application.store import SNAPSHOT_INTERVAL, EventStore, SnapshotWriter
from domain.model import RECENT_IDS
from tests.unit.application.conftest import App


def test_a_stray_persistence_module_in_the_environment_is_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.sqlite")
    monkeypatch.setenv("ZAKOPS_PERSISTENCE_MODULE", "eventsourcing.sqlite")
    store = EventStore(env=library_env("memory"))
    assert type(store.recorder).__name__ == "EnvelopePOPORecorder"
    assert store.env.get("IS_SNAPSHOTTING_ENABLED") == "y"
    assert store.snapshots is not None
    store.close()


def test_the_cache_is_bounded_in_bytes_and_count() -> None:
    env = library_env("memory", cache_size=7, cache_bytes=12345)
    store = EventStore(env=env)
    cache = store.repository.cache
    assert isinstance(cache, BoundedCache)
    assert (cache.max_items, cache.max_bytes) == (7, 12345)
    store.close()
    without = EventStore(env={**env, "AGGREGATE_CACHE_MAXBYTES": ""})
    assert not isinstance(without.repository.cache, BoundedCache)
    without.close()


def test_head_and_on_commit(app: App) -> None:
    assert app.store.head() == 0
    calls: list[int] = []
    app.store.on_commit.append(lambda: calls.append(app.store.head()))
    app.deals.create_deal("DL-1", "Acme")
    app.deals.update_deal("DL-1", name="B")
    assert calls == [1, 2]
    assert app.store.head() == 2


def test_forget_drops_the_cached_copy(app: App) -> None:
    app.deals.create_deal("DL-1", "Acme")
    deal_id = app.deals.id_for("DL-1")
    cache: Any = app.store.repository.cache
    assert cache is not None
    assert cache.get(deal_id).name == "Acme"
    app.store.forget(deal_id)
    with pytest.raises(KeyError):
        cache.get(deal_id)
    app.store.forget(deal_id)  # twice is fine
    assert app.store.load(deal_id).name == "Acme"  # rebuilt from the store


def test_current_brings_the_cached_copy_up_to_date(app: App) -> None:
    app.deals.create_deal("DL-1", "Acme")
    deal_id = app.deals.id_for("DL-1")
    cache: Any = app.store.repository.cache
    cached = cache.get(deal_id)
    # another process writes: the cache here is not told
    other: Any = app.store.repository.get(deal_id)
    from domain import payloads as p
    from tests.unit.builders import AT, meta

    other.update(meta(), AT, p.DealUpdatedPayload(deal_id="DL-1", name="Other"))
    _write_behind_the_cache(app, other)
    assert cache.get(deal_id) is cached
    current = app.store.current(deal_id)
    assert (current.name, current.version) == ("Other", 2)
    assert (cached.name, cached.version) == ("Acme", 1)  # the cached copy is not changed
    assert len(cached.recent_ids) == 1
    assert app.deals.get_deal("DL-1").name == "Other"


def _write_behind_the_cache(app: App, aggregate: Any) -> None:
    events = aggregate.collect_events()
    stored = [app.store.mapper.to_stored_event(e) for e in events]
    app.store.recorder.insert_events(stored)


def test_current_without_a_cached_copy_reads_the_store(app: App) -> None:
    app.deals.create_deal("DL-1", "Acme")
    deal_id = app.deals.id_for("DL-1")
    app.store.forget(deal_id)
    assert app.store.current(deal_id).name == "Acme"
    app.store.repository.cache = None
    app.store.forget(deal_id)  # no cache: nothing to forget
    assert app.store.current(deal_id).name == "Acme"


def test_a_snapshot_is_taken_when_a_save_crosses_the_interval(app: App) -> None:
    app.runs.create_run("s-1", "r-1")
    app.runs.start_run("r-1")
    run_id = app.runs.id_for("r-1")
    for i in range(SNAPSHOT_INTERVAL - 3):
        app.runs.think("r-1", origin=Origin(event_id=f"t-{i}"))
    app.store.flush_snapshots()
    assert app.store.snapshots is not None
    assert list(app.store.snapshots.get(run_id)) == []  # version 99: none yet
    app.runs.think("r-1", origin=Origin(event_id="last"))  # version 100
    app.store.flush_snapshots()
    [snapshot] = list(app.store.snapshots.get(run_id))
    assert snapshot.originator_version == SNAPSHOT_INTERVAL
    app.runs.think("r-1")  # 101: no second snapshot
    app.store.flush_snapshots()
    assert len(list(app.store.snapshots.get(run_id))) == 1


def test_snapshots_carry_the_dedup_window(app: App) -> None:
    app.runs.create_run("s-1", "r-1")
    app.runs.start_run("r-1")
    for i in range(SNAPSHOT_INTERVAL - 2):
        app.runs.think("r-1", content=str(i), origin=Origin(event_id=f"t-{i}"))
    app.store.flush_snapshots()
    run_id = app.runs.id_for("r-1")
    [snapshot] = list(app.store.snapshots.get(run_id))  # type: ignore[union-attr]
    window = snapshot.state["recent_ids"]
    assert len(window) == RECENT_IDS
    assert window[f"t-{SNAPSHOT_INTERVAL - 3}"] == SNAPSHOT_INTERVAL
    # rebuilt from the snapshot alone (no cache, the events table says nothing of t-97)
    app.store.forget(run_id)
    loaded = app.store.load(run_id)
    assert loaded.version == SNAPSHOT_INTERVAL
    assert f"t-{SNAPSHOT_INTERVAL - 3}" in loaded.recent_ids
    last = f"t-{SNAPSHOT_INTERVAL - 3}"
    again = app.runs.think("r-1", content=str(SNAPSHOT_INTERVAL - 3), origin=Origin(event_id=last))
    assert not again.written
    assert [e.event_id for e in again.events] == [last]


def test_snapshots_at_a_version_read_the_store(app: App) -> None:
    app.deals.create_deal("DL-1", "Acme")
    app.deals.update_deal("DL-1", name="B")
    deal_id = app.deals.id_for("DL-1")
    assert app.store.at_version(deal_id, 1).name == "Acme"
    assert app.store.at_version(deal_id, 2).name == "B"


def test_no_snapshots_without_a_snapshot_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EventStore, "snapshotting_intervals", {})
    store = EventStore(env=library_env("memory"))
    assert store.snapshots is None
    assert "IS_SNAPSHOTTING_ENABLED" not in store.env
    store.flush_snapshots()
    store.close()


def test_the_snapshot_writer_stores_in_the_background_and_survives_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored: list[Any] = []

    def put(items: list[Any]) -> None:
        if items == ["bad"]:
            raise OSError("disk full")
        stored.extend(items)

    writer = SnapshotWriter(put, capacity=10)
    with caplog.at_level(logging.ERROR, store_module.log.name):
        writer.put("a")
        writer.put("bad")
        writer.put("b")
        writer.flush()
    assert stored == ["a", "b"]
    assert "storing a snapshot failed" in caplog.text
    assert (writer._thread.name, writer._thread.daemon) == ("zakops-snapshots", True)
    writer.stop()
    assert not writer._thread.is_alive()


def test_a_full_snapshot_queue_skips_the_snapshot() -> None:
    gate, busy = threading.Event(), threading.Event()
    stored: list[Any] = []

    def put(items: list[Any]) -> None:
        busy.set()
        gate.wait(timeout=10)
        stored.extend(items)

    writer = SnapshotWriter(put, capacity=1)
    writer.put("first")
    assert busy.wait(timeout=10)  # taken by the thread, which waits at the gate
    for name in ("second", "third", "fourth"):
        writer.put(name)  # only one fits in the queue; the others are skipped, not blocking
    gate.set()
    writer.flush()
    writer.stop()
    assert stored == ["first", "second"]


def test_a_save_of_several_events_crossing_the_interval_takes_a_snapshot(app: App) -> None:
    from application.emitter import EmitRequest

    app.runs.create_run("s-1", "r-1")
    app.runs.start_run("r-1")
    for _ in range(SNAPSHOT_INTERVAL - 3):
        app.runs.think("r-1")  # version 99
    app.emitter.emit_batch([EmitRequest("agent.thinking", {}, run_id="r-1")] * 2)  # 100, 101
    app.store.flush_snapshots()
    [snapshot] = list(app.store.snapshots.get(app.runs.id_for("r-1")))  # type: ignore[union-attr]
    assert snapshot.originator_version == SNAPSHOT_INTERVAL + 1


def test_closing_the_store_stops_the_snapshot_writer() -> None:
    store = EventStore(env=library_env("memory"))
    writer = store._snapshotter
    assert writer._thread.is_alive()
    store.close()
    assert not writer._thread.is_alive()
