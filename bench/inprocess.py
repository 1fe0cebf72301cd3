"""In-process measurements of our write and read paths (each returns rates or timings; the
caller puts the baseline next to it), and the bare eventsourcing library for comparison."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from adapters.persistence.environment import library_env
from application.emitter import EmitRequest
from bench.backends import Backend
from bench.raw import _run_threads
from bench.report import percentile, rate
from domain.model import EventMeta
from domain.payloads import RunCreatedPayload, RunStartedPayload, ThinkingPayload
from domain.run import Run
from entrypoints.container import Container

BATCH = 100


class _Bare(Application):  # type: ignore[type-arg]  # the library's own default application
    name = "bare"


@contextmanager
def bare_library(backend: Backend) -> Iterator[_Bare]:
    """The eventsourcing library with its own mapper and recorder (none of ours) on a new,
    empty store of this backend: the library's default `Aggregate` and events."""
    settings = backend.settings("bare")
    env = library_env(
        settings.store,
        sqlite_path=settings.sqlite_path,
        postgres_dsn=backend.dsn,
        postgres_schema=settings.postgres_schema,
    )
    env.pop("MAPPER_TOPIC")
    env.pop("APPLICATION_RECORDER_TOPIC")
    if backend.dsn is not None:
        from adapters.persistence.postgres import ensure_schema

        ensure_schema(backend.dsn, settings.postgres_schema)
    app = _Bare(env=env)
    try:
        yield app
    finally:
        app.close()


def bare_saves(app: _Bare, events: int) -> float:
    """Events/s of `events` saves of one new event each, on one aggregate."""
    aggregate = Aggregate()
    app.save(aggregate)
    start = time.perf_counter()
    for _ in range(events):
        aggregate.trigger_event(Aggregate.Event)
        app.save(aggregate)
    return rate(events, time.perf_counter() - start)


def bare_batches(app: _Bare, batches: int, size: int = BATCH) -> float:
    """Events/s of `batches` saves of `size` new events each, on one aggregate."""
    aggregate = Aggregate()
    app.save(aggregate)
    start = time.perf_counter()
    for _ in range(batches):
        for _ in range(size):
            aggregate.trigger_event(Aggregate.Event)
        app.save(aggregate)
    return rate(batches * size, time.perf_counter() - start)


def open_run(app: Container, session_id: str, run_id: str) -> None:
    app.runs().create_run(session_id, run_id)
    app.runs().start_run(run_id)


def think(app: Container, run_id: str, events: int) -> float:
    """Events/s of sequential `RunService.think` commands on one running run."""
    runs = app.runs()
    start = time.perf_counter()
    for i in range(events):
        runs.think(run_id, content=f"step {i}")
    return rate(events, time.perf_counter() - start)


def emit_thinking(app: Container, run_id: str, events: int) -> float:
    """Events/s of sequential single `Emitter.emit` calls on one running run."""
    emitter = app.emitter()
    start = time.perf_counter()
    for i in range(events):
        emitter.emit("agent.thinking", {"content": f"step {i}"}, run_id=run_id)
    return rate(events, time.perf_counter() - start)


def ticks(session_id: str, count: int, first: int = 0) -> list[EmitRequest]:
    return [
        EmitRequest("custom.tick", {"i": first + i}, session_id=session_id) for i in range(count)
    ]


def batch_times(app: Container, session_id: str, batches: int) -> list[float]:
    """Seconds of each `emit_batch` of 100 events into one session (requests built before)."""
    emitter = app.emitter()
    requests = [ticks(session_id, BATCH, b * BATCH) for b in range(batches)]
    times: list[float] = []
    for batch in requests:
        start = time.perf_counter()
        emitter.emit_batch(batch)
        times.append(time.perf_counter() - start)
    return times


def batches(app: Container, session_id: str, batches: int) -> float:
    """Events/s of `batches` batches of 100, one after the other."""
    return rate(batches * BATCH, sum(batch_times(app, session_id, batches)))


def threads(app: Container, threads: int, per_thread: int, prefix: str) -> float:
    """Events/s of `threads` threads started together, each recording `per_thread` single
    events into its own session through `SessionService.record`."""
    sessions = app.sessions()
    for t in range(threads):  # sessions exist and are cached before the clock starts
        sessions.record(f"{prefix}-{t}", "custom.tick", {"i": -1})

    def work(session_id: str) -> None:
        for i in range(per_thread):
            sessions.record(session_id, "custom.tick", {"i": i})

    elapsed = _run_threads([partial(work, f"{prefix}-{t}") for t in range(threads)])
    return rate(threads * per_thread, elapsed)


def write_runs(app: Container, runs: int, per_run: int = 100, offset: int = 0) -> None:
    """Store runs straight through the library's `save` (about 1,000 events a transaction):
    run-<n> in session-<n % 997>, created, started, then thinking."""
    at = datetime.now(UTC)
    pending: list[Run] = []
    for r in range(offset, offset + runs):
        run_id, session = f"run-{r}", f"session-{r % 997}"
        run = Run.create(
            EventMeta(event_id=f"c-{r}", session_id=session, run_id=run_id), at, RunCreatedPayload()
        )
        run.start(EventMeta(event_id=f"s-{r}"), at, RunStartedPayload())
        for i in range(per_run - 2):
            run.think(EventMeta(event_id=f"t-{r}-{i}"), at, ThinkingPayload(content="x" * 40))
        pending.append(run)
        if len(pending) * per_run >= 1000:
            app.store().save(*pending)
            pending = []
    if pending:
        app.store().save(*pending)


def query_latency(stores: list[tuple[Container, int]], samples: int) -> list[list[float]]:
    """Per store (an app and how many runs it holds), the seconds of each of `samples`
    `get_events_by_run(limit=100)` calls for random stored runs; the stores take turns
    query by query, so a slow spell of the machine hits all of them alike."""
    timings: list[list[float]] = [[] for _ in stores]
    for _ in range(samples):
        for (app, runs), spent in zip(stores, timings, strict=True):
            run_id = f"run-{random.randrange(runs)}"
            start = time.perf_counter()
            found = app.queries().get_events_by_run(run_id, limit=100)
            spent.append(time.perf_counter() - start)
            if not found:
                raise LookupError(f"no events for {run_id}")
    return timings


def median_p99(timings: list[float]) -> tuple[float, float]:
    return percentile(timings, 0.5), percentile(timings, 0.99)
