"""`make bench`: throughput and latency of our paths, each next to its raw baseline.

    python -m bench [--quick] [--large N] [--backends sqlite,postgres]

Measured in one run, per backend: (1) single-event commands through the application service
vs. the bare eventsourcing library saving one event per save vs. raw single-row inserts;
(2) batch emission of 100 events vs. raw batched inserts; (3) timeline catch-up vs. raw
batched inserts; (4) get_events_by_run median and p99 at 10 thousand and at N stored events.
Absolute numbers on shared machines are noisy; the ratios are what we track.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from rich.console import Console
from rich.table import Table

from adapters.persistence.environment import library_env
from application.emitter import EmitRequest
from bench.backends import Backend, container_for, percentile, postgres_backend, sqlite_backend
from bench.http import http_rate, in_process_rate
from domain.model import EventMeta
from domain.payloads import RunCreatedPayload, RunStartedPayload, ThinkingPayload
from domain.run import Run
from entrypoints.container import Container
from entrypoints.settings import Settings


@dataclass
class Row:
    backend: str
    what: str
    ours: str
    baseline: str
    ratio: float | None
    target: str

    @property
    def verdict(self) -> str:
        if self.ratio is None or not self.target:
            return ""
        goal = float(self.target.split()[-1].rstrip("x%")) / (100 if "%" in self.target else 1)
        ok = self.ratio <= goal if "<=" in self.target else self.ratio >= goal
        return "[green]met[/green]" if ok else "[red]missed[/red]"


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def bare_library(backend: Backend, events: int, folder: Path) -> float:
    settings = backend.settings
    env = library_env(
        settings.store,
        sqlite_path=folder / "bare.sqlite",
        postgres_dsn=settings.dsn() if settings.store == "postgres" else None,
        postgres_schema="bare",
    )
    env.pop("MAPPER_TOPIC")
    if settings.store == "postgres":
        from adapters.persistence.postgres import ensure_schema

        ensure_schema(settings.dsn(), "bare")

    class Bare(Application):  # type: ignore[type-arg]  # the library's own default app
        name = "bare"

    app = Bare(env=env)
    aggregate = Aggregate()
    app.save(aggregate)
    start = time.perf_counter()
    for _ in range(events):
        aggregate.trigger_event(Aggregate.Event)
        app.save(aggregate)
    elapsed = time.perf_counter() - start
    app.close()
    return elapsed


def single_commands(app: Container, events: int) -> tuple[float, float]:
    runs = app.runs()
    runs.create_run("bench", "bench-run")
    runs.start_run("bench-run")
    start = time.perf_counter()
    for i in range(events):
        runs.think("bench-run", content=str(i))
    service = time.perf_counter() - start
    emitter = app.emitter()
    start = time.perf_counter()
    for i in range(events):
        emitter.emit("agent.thinking", {"content": str(i)}, run_id="bench-run")
    return service, time.perf_counter() - start


def batches(app: Container, count: int, size: int) -> float:
    emitter = app.emitter()
    emitter.emit("custom.open", {}, session_id="batch")
    start = time.perf_counter()
    for b in range(count):
        emitter.emit_batch(
            [EmitRequest("custom.tick", {"i": i, "b": b}, session_id="batch") for i in range(size)]
        )
    return time.perf_counter() - start


def write_runs(app: Container, runs: int, per_run: int, offset: int = 0) -> None:
    """Store runs straight through the library (1,000 events a transaction)."""
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


def query_latency(app: Container, runs: int, samples: int) -> tuple[float, float]:
    queries = app.queries()
    timings = []
    for _ in range(samples):
        run_id = f"run-{random.randrange(runs)}"
        start = time.perf_counter()
        found = queries.get_events_by_run(run_id, limit=100)
        timings.append(time.perf_counter() - start)
        assert found, run_id
    return statistics.median(timings), percentile(timings, 0.99)


def fresh(backend: Backend, label: str) -> Settings:
    """The backend's settings pointed at empty storage (another file or schema)."""
    settings = backend.settings
    path = settings.sqlite_path.with_name(f"{label}.sqlite")
    return settings.model_copy(update={"sqlite_path": path, "postgres_schema": label})


def bench_backend(backend: Backend, args: argparse.Namespace, folder: Path) -> list[Row]:
    rows: list[Row] = []
    name, n = backend.name, args.single
    bare = bare_library(backend, n, folder)
    raw_single = backend.raw_single(n)
    raw_batch = backend.raw_batch(args.batches, 100)
    with container_for(backend.settings) as app:
        service, emit = single_commands(app, n)
        rows += [
            Row(
                name,
                "(1) command via RunService, incl. timeline",
                rate(n, service),
                f"bare library {rate(n, bare)}",
                bare / service,
                ">= 90%",
            ),
            Row(
                name,
                "(1) single emit via Emitter, incl. timeline",
                rate(n, emit),
                f"bare library {rate(n, bare)}",
                bare / emit,
                "",
            ),
            Row(
                name,
                "(1) bare library vs raw single-row insert",
                rate(n, bare),
                f"raw {rate(n, raw_single)}",
                raw_single / bare,
                "",
            ),
        ]
        batch_time = batches(app, args.batches, 100)
        events = args.batches * 100
        rows.append(
            Row(
                name,
                "(2) emit_batch of 100 events",
                rate(events, batch_time),
                f"raw batched {rate(events, raw_batch)}",
                raw_batch / batch_time,
                ">= 50%",
            )
        )
    with container_for(fresh(backend, "catchup")) as app:
        write_runs(app, runs=args.catchup // 100, per_run=100)
        head = app.store().head()
        start = time.perf_counter()
        app.timeline().catch_up()
        catchup = time.perf_counter() - start
        raw = backend.raw_batch(head // 500, 500)
        rows.append(
            Row(
                name,
                f"(3) timeline catch-up of {head:,} events",
                rate(head, catchup),
                f"raw batched {rate(head // 500 * 500, raw)}",
                (raw / (head // 500 * 500)) / (catchup / head),
                ">= 50%",
            )
        )
    with container_for(fresh(backend, "queries")) as app:
        small = 10_000
        write_runs(app, runs=small // 100, per_run=100)
        app.timeline().catch_up()
        med_s, p99_s = query_latency(app, small // 100, args.samples)
        write_runs(app, runs=(args.large - small) // 100, per_run=100, offset=small // 100)
        app.timeline().catch_up()
        med_l, p99_l = query_latency(app, args.large // 100, args.samples)
        rows.append(
            Row(
                name,
                f"(4) get_events_by_run at {args.large:,} (median / p99)",
                f"{med_l * 1e3:.2f} / {p99_l * 1e3:.2f} ms",
                f"at 10,000: {med_s * 1e3:.2f} / {p99_s * 1e3:.2f} ms",
                p99_l / p99_s,
                "p99 ratio <= 1.5x",
            )
        )
    inproc = in_process_rate(fresh(backend, "inproc"), args.single)
    http, median, p99 = http_rate(fresh(backend, "http"), clients=8, per_client=args.single // 8)
    rows.append(
        Row(
            name,
            "(5) POST /api/events, uvicorn, 8 clients",
            f"{http:,.0f}/s, p50 {median * 1e3:.1f} / p99 {p99 * 1e3:.1f} ms",
            f"in-process emitter {inproc:,.0f}/s",
            http / inproc,
            ">= 50%",
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    args.single, args.batches, args.catchup, args.samples = 1000, 50, 50_000, 1000
    if args.quick:
        args.single, args.batches, args.catchup, args.samples = 100, 5, 5_000, 100
        args.large = min(args.large, 50_000)
    import tempfile

    rows: list[Row] = []
    console = Console(width=150)
    for name in args.backends.split(","):
        factory = {"sqlite": sqlite_backend, "postgres": postgres_backend}[name]
        console.print(f"[bold]benchmarking {name}...[/bold]")
        with tempfile.TemporaryDirectory() as folder, factory() as backend:
            rows += bench_backend(backend, args, Path(folder))
    table = Table(title="ZakOps Event Core benchmarks (ratio = ours / baseline rate)")
    for column in ("backend", "measurement", "ours", "baseline", "ratio", "target", ""):
        table.add_column(column)
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        table.add_row(row.backend, row.what, row.ours, row.baseline, ratio, row.target, row.verdict)
    console.print(table)


if __name__ == "__main__":
    main()
