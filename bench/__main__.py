"""`make bench`: our write and read paths, each next to a baseline measured in the same run.

    python -m bench [--quick] [--large N] [--backends sqlite,postgres] [--only 8,9]

Per backend: (1) sequential single-event commands vs. the bare eventsourcing library saving
one event per save (and the bare library vs. raw single-row commits); (2) emit_batch of 100
vs. raw executemany of 100; (3) 16 threads of single-event commands vs. 16 threads of raw
single-row commits; (4) POST /api/events over a uvicorn subprocess, single events from 16
clients and batches of 100 from 4, vs. the same raw baselines; (5) the last 20 of 30,000
events' batches into one session vs. the first 20; (6) server RSS after N events of ~1 KB
vs. after 10,000; (7) get_events_by_run latency at N stored events vs. at 10,000; (8) live
SSE streams: 10,000 idle streams' server CPU and RSS, 1,000 streams' delivery delay, the
write p99 to the session they follow vs to one nobody follows (alternating blocks, one write
every 20 ms and every 60 ms), and a reconnect storm's lost/duplicated/out-of-order count;
(9) the console's session page with 100,000 events (p95 budget 100 ms) and a live event's
delay from the write's acknowledgement to the page (p95 budget 300 ms).
Absolute numbers on shared machines are noisy; the ratios are what we track.
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console

from bench.backends import NAMES, Name, open_backend
from bench.report import Clock, Row, results_table, timing_table
from bench.suite import SMALL, Sizes, bench_backend

DEFAULT_LARGE = 1_000_000
QUICK_LARGE = 30_000


def _backends(text: str) -> list[Name]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in NAMES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(NAMES)}")
    return [name for name in NAMES if name in chosen]


def _parts(text: str) -> frozenset[str]:
    chosen = frozenset(part.strip() for part in text.split(",") if part.strip())
    if not chosen or not chosen <= {str(n) for n in range(1, 10)}:
        raise argparse.ArgumentTypeError("choose part numbers from 1 to 9")
    return chosen


def _large(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value <= SMALL:
        raise argparse.ArgumentTypeError(f"must be more than {SMALL:,}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run with small sizes")
    parser.add_argument(
        "--large",
        type=_large,
        default=None,
        help=f"events stored for (6) and (7) (default {DEFAULT_LARGE:,}; {QUICK_LARGE:,} quick)",
    )
    parser.add_argument("--backends", type=_backends, default=list(NAMES), help="sqlite,postgres")
    parser.add_argument(
        "--only", type=_parts, default=frozenset(), help="run only these parts, e.g. 8 or 1,4"
    )
    args = parser.parse_args()
    large: int = args.large or (QUICK_LARGE if args.quick else DEFAULT_LARGE)
    sizes = Sizes.quick(large) if args.quick else Sizes.full(large)

    console = Console(width=200)
    clock = Clock([], console)
    rows: list[Row] = []
    started = time.perf_counter()
    for name in args.backends:
        console.print(f"[bold]benchmarking {name}[/bold]")
        with open_backend(name) as backend:
            rows += bench_backend(backend, sizes, clock, args.only)
    console.print(timing_table(clock.parts))
    console.print(results_table(rows))
    console.print(f"total {time.perf_counter() - started:,.0f} s")


if __name__ == "__main__":
    main()
