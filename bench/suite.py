"""The measurements of one backend, each with its baseline measured right next to it."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from bench import http, inprocess, streams
from bench.backends import Backend, fresh_app
from bench.console import bench_console
from bench.floor import typed_rows
from bench.raw import rss_mb
from bench.report import Clock, Row, Target, medians, ms, per_s, percentile, rate

SMALL = 10_000  # the reference store size of the memory and query measurements
THREADS = 16
HTTP_BATCH_CLIENTS = 4
FLAT_WINDOW = 20  # batches compared at the start and the end of the flat-cost run


@dataclass(frozen=True)
class Sizes:
    rounds: int  # alternating rounds of ours and the baseline; medians are reported
    single: int  # (1) sequential commands a round
    batches: int  # (2) batches of 100 a round
    per_thread: int  # (3) commands per thread a round
    http_singles: int  # (4) single-event requests per client a round
    http_batches: int  # (4) batch requests per client a round
    flat: int  # (5) events into one session
    large: int  # (6) (7) events stored at the end
    samples: int  # (7) queries per store size
    content_bytes: int = 1000  # (6) text in each event's payload
    idle_streams: int = 10_000  # (8) idle SSE streams held open
    fan_out_streams: int = 1_000  # (8) streams on one session while writing
    # (8) writes to the followed session per pace, and after the storm: a p99 of 1,000 moves
    # less from run to run than one of 400 (about 15% here against 30%)
    fan_out_events: int = 1_000
    console_events: int = 100_000  # (9) events in the session whose console page is timed
    console_samples: int = 200  # (9) page loads, and live events, measured

    @classmethod
    def full(cls, large: int) -> Sizes:
        return cls(3, 1000, 50, 150, 100, 20, 30_000, large, 3000)

    @classmethod
    def quick(cls, large: int) -> Sizes:
        return cls(
            1,
            100,
            5,
            15,
            15,
            3,
            6_000,
            large,
            100,
            idle_streams=1000,
            fan_out_streams=100,
            fan_out_events=30,
            console_events=20_000,
            console_samples=40,
        )


def bench_backend(
    backend: Backend, sizes: Sizes, clock: Clock, only: frozenset[str] = frozenset()
) -> list[Row]:
    """Every part, or those whose number (`"8"` for "(8) live streams") is in `only`."""
    parts: list[tuple[str, Callable[[Backend, Sizes, Console], list[Row]]]] = [
        ("(1) single commands", single_commands),
        ("(2) batches of 100", batches),
        ("(3) 16 threads", threads),
        ("(4) HTTP", over_http),
        ("(5) flat cost", flat_cost),
        ("(6) server memory", memory),
        ("(7) run queries", run_queries),
        ("(8) live streams", live_streams),
        ("(9) console", bench_console),
    ]
    rows: list[Row] = []
    for name, measure in parts:
        if only and name[1 : name.index(")")] not in only:
            continue
        with clock.part(backend.name, name):
            rows += measure(backend, sizes, clock.console)
    return rows


def single_commands(backend: Backend, sizes: Sizes, _: Console) -> list[Row]:
    n, name = sizes.single, backend.name
    with (
        backend.raw("single") as raw,
        inprocess.bare_library(backend) as bare,
        fresh_app(backend, "single") as app,
    ):
        inprocess.open_run(app, "bench", "bench-run")
        contenders: dict[str, Callable[[], float]] = {
            "raw": lambda: rate(n, raw.single(n)),
            "bare": lambda: inprocess.bare_saves(bare, n),
            "think": lambda: inprocess.think(app, "bench-run", n),
            "emit": lambda: inprocess.emit_thinking(app, "bench-run", n),
        }
        raw.single(20)  # untimed: connections, prepared statements and caches warm
        inprocess.bare_saves(bare, 20)
        inprocess.think(app, "bench-run", 20)
        inprocess.emit_thinking(app, "bench-run", 20)
        got = medians(sizes.rounds, contenders)
    bare_rate = f"bare library {per_s(got['bare'])}"
    return [
        Row(
            name,
            "(1) RunService.think, sequential",
            per_s(got["think"]),
            bare_rate,
            got["think"] / got["bare"],
            Target(">=", 0.9),
        ),
        Row(
            name,
            "(1) Emitter.emit agent.thinking, sequential",
            per_s(got["emit"]),
            bare_rate,
            got["emit"] / got["bare"],
        ),
        Row(
            name,
            "(1) bare library vs raw single-row commits",
            per_s(got["bare"]),
            f"raw {per_s(got['raw'])}",
            got["bare"] / got["raw"],
        ),
    ]


def batches(backend: Backend, sizes: Sizes, _: Console) -> list[Row]:
    """Ours beside raw `executemany`, and, to show where the time goes, the same raw inserts
    with the least Python a typed event needs (bench/floor.py) and the bare library saving
    100 of its own events at a time."""
    count, size = sizes.batches, inprocess.BATCH
    with (
        backend.raw("batch") as raw,
        fresh_app(backend, "batch") as app,
        inprocess.bare_library(backend) as bare,
    ):
        inprocess.batches(app, "warm", 2)
        raw.batches(2, size)
        raw.built_batches(2, size, typed_rows)
        inprocess.bare_batches(bare, 2)
        got = medians(
            sizes.rounds,
            {
                "raw": lambda: rate(count * size, raw.batches(count, size)),
                "ours": lambda: inprocess.batches(app, "batch", count),
                "floor": lambda: rate(count * size, raw.built_batches(count, size, typed_rows)),
                "bare": lambda: inprocess.bare_batches(bare, count),
            },
        )
    baseline = f"raw executemany of 100 {per_s(got['raw'])}"
    measured = [
        ("ours", "(2) Emitter.emit_batch of 100, sequential", Target(">=", 0.5)),
        ("floor", "(2) floor: typed payload + id + JSON + raw executemany", None),
        ("bare", "(2) bare library, 100 untyped events per save", None),
    ]
    return [
        Row(backend.name, label, per_s(got[name]), baseline, got[name] / got["raw"], target)
        for name, label, target in measured
    ]


def threads(backend: Backend, sizes: Sizes, _: Console) -> list[Row]:
    per = sizes.per_thread
    with backend.raw("threads") as raw, fresh_app(backend, "threads") as app:
        inprocess.threads(app, THREADS, 2, "warm")
        raw.threads(THREADS, 2)
        got = medians(
            sizes.rounds,
            {
                "raw": lambda: rate(THREADS * per, raw.threads(THREADS, per)),
                "ours": lambda: inprocess.threads(app, THREADS, per, "s"),
            },
        )
    return [
        Row(
            backend.name,
            f"(3) {THREADS} threads of SessionService.record, own sessions",
            per_s(got["ours"]),
            f"raw {THREADS} threads single-row {per_s(got['raw'])}",
            got["ours"] / got["raw"],
            Target(">=", 1.0, informative=backend.name != "postgres"),
        ),
    ]


def http_workers(backend: Backend) -> int:
    """As an operator would run it: on PostgreSQL one worker process per core (at most 4);
    an embedded store has one writer process."""
    return min(4, os.cpu_count() or 1) if backend.name == "postgres" else 1


def over_http(backend: Backend, sizes: Sizes, _: Console) -> list[Row]:
    per, per_batch = sizes.http_singles, sizes.http_batches
    single_lat: list[float] = []
    batch_lat: list[float] = []

    def posted(result: http.Result, latencies: list[float]) -> float:
        latencies += result.latencies
        return result.rate

    workers = http_workers(backend)
    with backend.raw("http") as raw, http.serve(backend.settings("http"), workers) as server:
        http.drive(server.base, http.singles(THREADS, 3, "warm"))
        http.drive(server.base, http.batches(HTTP_BATCH_CLIENTS, 1, "warm"))
        single = medians(
            sizes.rounds,
            {
                "raw": lambda: rate(THREADS * per, raw.threads(THREADS, per)),
                "ours": lambda: posted(
                    http.drive(server.base, http.singles(THREADS, per, "s")), single_lat
                ),
            },
        )
        events = HTTP_BATCH_CLIENTS * per_batch * http.BATCH
        batch = medians(
            sizes.rounds,
            {
                "raw": lambda: rate(events, raw.batches(events // http.BATCH, http.BATCH)),
                "ours": lambda: posted(
                    http.drive(server.base, http.batches(HTTP_BATCH_CLIENTS, per_batch, "b")),
                    batch_lat,
                ),
            },
        )
    return [
        Row(
            backend.name,
            f"(4) HTTP POST single event, {THREADS} clients, {workers} worker(s)",
            f"{per_s(single['ours'])}; {_p50_p99(single_lat)}",
            f"raw {THREADS} threads single-row {per_s(single['raw'])}",
            single["ours"] / single["raw"],
            Target(">=", 0.15),
        ),
        Row(
            backend.name,
            f"(4) HTTP POST batch of 100, {HTTP_BATCH_CLIENTS} clients, {workers} worker(s)",
            f"{per_s(batch['ours'])}; {_p50_p99(batch_lat)}",
            f"raw executemany of 100 {per_s(batch['raw'])}",
            batch["ours"] / batch["raw"],
            Target(">=", 0.35),
        ),
    ]


def _p50_p99(latencies: list[float]) -> str:
    return f"p50 {ms(percentile(latencies, 0.5))}, p99 {ms(percentile(latencies, 0.99))}"


def flat_cost(backend: Backend, sizes: Sizes, _: Console) -> list[Row]:
    """A window's rate is 100 events over its median batch time: a lone WAL checkpoint,
    fsync stall or GC pause in 20 batches of a few ms each would otherwise decide it."""
    with fresh_app(backend, "flat") as app:
        inprocess.batches(app, "flat-warm", FLAT_WINDOW)
        times = inprocess.batch_times(app, "flat", sizes.flat // inprocess.BATCH)
    first = rate(inprocess.BATCH, statistics.median(times[:FLAT_WINDOW]))
    last = rate(inprocess.BATCH, statistics.median(times[-FLAT_WINDOW:]))
    return [
        Row(
            backend.name,
            f"(5) {sizes.flat:,} events into one session, emit_batch of 100",
            f"last {FLAT_WINDOW} batches {per_s(last)} (median batch)",
            f"first {FLAT_WINDOW} batches {per_s(first)} (median batch)",
            last / first,
            Target(">=", 0.85),
        ),
    ]


def memory(backend: Backend, sizes: Sizes, console: Console) -> list[Row]:
    clients, sessions = HTTP_BATCH_CLIENTS, 200
    chunks = 10
    with http.serve(backend.settings("memory")) as server:
        streams = [
            http.run_bodies(c, clients, sessions, sizes.content_bytes) for c in range(clients)
        ]
        http.drive(server.base, http.take(streams, SMALL // http.BATCH))
        at_small = rss_mb(server.pid)
        console.print(f"    {SMALL:,} events: server RSS {at_small:.0f} MB")
        remaining = (sizes.large - SMALL) // http.BATCH
        posted, seconds, stored = 0, 0.0, SMALL
        for chunk in range(chunks):
            count = remaining * (chunk + 1) // chunks - posted
            result = http.drive(server.base, http.take(streams, count))
            posted, seconds, stored = (
                posted + count,
                seconds + result.seconds,
                stored + result.events,
            )
            console.print(
                f"    {stored:,} events: server RSS {rss_mb(server.pid):.0f} MB"
                f" ({per_s(result.rate)})"
            )
        at_large = rss_mb(server.pid)
    return [
        Row(
            backend.name,
            f"(6) server RSS after {stored:,} events of ~1 KB over HTTP",
            f"{at_large:.0f} MB ({per_s(rate(stored - SMALL, seconds))} posted)",
            f"after {SMALL:,}: {at_small:.0f} MB",
            at_large / at_small,
            Target("<=", 1.5),
        ),
    ]


def run_queries(backend: Backend, sizes: Sizes, console: Console) -> list[Row]:
    per_run = 100
    with fresh_app(backend, "queries_small") as small, fresh_app(backend, "queries") as app:
        inprocess.write_runs(small, SMALL // per_run, per_run)
        runs, step = 0, 100_000 // per_run
        while runs < sizes.large // per_run:
            more = min(step, sizes.large // per_run - runs)
            inprocess.write_runs(app, more, per_run, offset=runs)
            runs += more
            console.print(f"    stored {runs * per_run:,} events")
        stores = [(small, SMALL // per_run), (app, runs)]
        inprocess.query_latency(stores, 20)
        at_small, at_large = inprocess.query_latency(stores, sizes.samples)
    p50_s, p99_s = inprocess.median_p99(at_small)
    p50_l, p99_l = inprocess.median_p99(at_large)
    return [
        Row(
            backend.name,
            f"(7) get_events_by_run(limit=100) at {runs * per_run:,} (p50 / p99)",
            f"{ms(p50_l)} / {ms(p99_l)}",
            f"at {SMALL:,}: {ms(p50_s)} / {ms(p99_s)}",
            p99_l / p99_s,
            Target("<=", 1.5),
        ),
    ]


# (8) the pauses between writes beside the streams: at 20 ms the tail of one write's fan-out
# to 1,000 streams (about 10 ms of the server's CPU, mostly the kernel's loopback sends, and
# as much again in the readers, on the same two cores) overlaps the next write; at 60 ms not
PACES = (0.02, 0.06)


def live_streams(backend: Backend, sizes: Sizes, _: Console) -> list[Row]:
    name = backend.name
    with http.serve(backend.settings("streams")) as server:
        idle = streams.idle_streams(server.base, server.pid, sizes.idle_streams, seconds=20)
        fan = streams.fan_out(server.base, sizes.fan_out_streams, sizes.fan_out_events, PACES)
    n = f"{fan.streams:,}"
    return [
        Row(
            name,
            f"(8) {idle.streams:,} idle SSE streams: server CPU (share of a core)",
            f"{idle.cpu_share:.1%}",
            "budget 5% of a core",
            idle.cpu_share / 0.05,
            Target("<=", 1.0),
        ),
        Row(
            name,
            f"(8) {idle.streams:,} idle SSE streams: server RSS added",
            f"{idle.rss_added_mb:.0f} MB",
            "budget 100 MB",
            idle.rss_added_mb / 100,
            Target("<=", 1.0),
        ),
        Row(
            name,
            f"(8) {n} streams: acknowledged write to arrival (p50 / p99)",
            f"{ms(fan.delivery_p50)} / {ms(fan.delivery_p99)}",
            "budget p99 100 ms",
            fan.delivery_p99 / 0.1,
            Target("<=", 1.0),
        ),
        *(
            Row(
                name,
                f"(8) write p99, one every {pace.gap * 1000:.0f} ms, {n} streams following",
                ms(pace.followed_p99),
                f"to a session nobody follows: {ms(pace.unfollowed_p99)}",
                pace.followed_p99 / max(pace.unfollowed_p99, 1e-6),
                Target("<=", 1.2),
            )
            for pace in fan.paces
        ),
        Row(
            name,
            f"(8) reconnect storm of {n} streams: lost / duplicated / out of order",
            f"{fan.lost} / {fan.duplicated} / {fan.out_of_order}",
            f"{(len(fan.paces) + 1) * fan.events} events each",
            float(fan.lost + fan.duplicated + fan.out_of_order),
            Target("<=", 0.0),
        ),
    ]
