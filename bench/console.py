"""(9) The console through a real server (`zakops serve` in a subprocess): the session page
of a session of 100,000 events against a budget of 100 ms and against a session of 100
events, and how long a written event takes to reach an open page's live stream after its
write was acknowledged (budget 300 ms). Times are taken at the client over loopback, so
they are upper bounds of the server's own time."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx
from rich.console import Console

from bench.backends import Backend, container_for
from bench.http import KEY, serve
from bench.inprocess import ticks
from bench.report import Row, Target, ms, percentile

if TYPE_CHECKING:
    from bench.suite import Sizes

SMALL_SESSION = 100
PAGE_BUDGET = 0.100
LIVE_BUDGET = 0.300


def bench_console(backend: Backend, sizes: Sizes, console: Console) -> list[Row]:
    settings = backend.settings("console")
    big = sizes.console_events
    with container_for(settings) as app:
        emitter = app.emitter()
        for first in range(0, big, 500):
            emitter.emit_batch(ticks("big", 500, first))
        emitter.emit_batch(ticks("small", SMALL_SESSION))
    console.print(f"    stored {big:,} + {SMALL_SESSION} events")
    samples = sizes.console_samples
    with serve(settings) as server, signed_in(server.base) as client:
        for session in ("big", "small"):  # warm both
            page_times(client, session, 10)
        at_big = page_times(client, "big", samples)
        at_small = page_times(client, "small", samples)
        live = live_latency(client, server.base, samples)
    p95_big, p95_small, p95_live = (percentile(t, 0.95) for t in (at_big, at_small, live))
    return [
        Row(
            backend.name,
            f"(9) console session page, {big:,} events (p50 / p95)",
            f"{ms(percentile(at_big, 0.5))} / {ms(p95_big)}",
            f"budget {ms(PAGE_BUDGET)}",
            p95_big / PAGE_BUDGET,
            Target("<=", 1.0),
        ),
        Row(
            backend.name,
            f"(9) console session page, {big:,} vs {SMALL_SESSION} events (p95)",
            ms(p95_big),
            ms(p95_small),
            p95_big / p95_small,
            Target("<=", 1.5, informative=True),
        ),
        Row(
            backend.name,
            "(9) console live event, write acknowledged -> on the page (p50 / p95)",
            f"{ms(percentile(live, 0.5))} / {ms(p95_live)}",
            f"budget {ms(LIVE_BUDGET)}",
            p95_live / LIVE_BUDGET,
            Target("<=", 1.0),
        ),
    ]


@contextmanager
def signed_in(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/console/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        answer = client.post("/console/login", data={"key": KEY, "csrf": token.group(1)})
        assert answer.status_code in (200, 303), answer.text
        yield client


def page_times(client: httpx.Client, session: str, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        answer = client.get(f"/console/sessions/{session}")
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.status_code
    return times


def live_latency(client: httpx.Client, base: str, samples: int) -> list[float]:
    """Post events one by one (20-60 ms apart) while a console stream of their session is
    open; each sample is the time from the write's acknowledgement to its arrival."""
    arrived: dict[int, float] = {}
    opened = threading.Event()

    def listen() -> None:
        url = "/console/sessions/live/stream?since_seq=0"
        with client.stream("GET", url, timeout=None) as stream:
            opened.set()
            for line in stream.iter_lines():
                if line.startswith("id:"):
                    arrived[int(line[3:].strip())] = time.perf_counter()
                    if len(arrived) >= samples + 1:
                        return

    writer = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"})
    body = {"type": "custom.tick", "session_id": "live", "payload": {"i": 0}}
    writer.post("/api/events", json=body)  # the session exists before the stream opens
    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    opened.wait(10)
    acknowledged: dict[int, float] = {}
    for n in range(samples):
        time.sleep(0.02 + 0.04 * (n % 5) / 4)
        answer = writer.post("/api/events", json=body)
        acknowledged[int(answer.json()["seq"])] = time.perf_counter()
    thread.join(15)
    writer.close()
    return [max(0.0, arrived[seq] - at) for seq, at in acknowledged.items() if seq in arrived]
