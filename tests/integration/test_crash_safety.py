"""A writer killed with SIGKILL mid-stream loses no acknowledged event and leaves no gap.

The log is the timeline: a batch and its `seq` numbers commit together or not at all, so
after the kill every batch the writer saw acknowledged is stored once, whole, with dense
`seq` per session, and the next write simply continues the numbering.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from entrypoints.container import Container
from entrypoints.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = 4
BATCH = 10
pytestmark = pytest.mark.slow

WRITER = f"""
from application.emitter import EmitRequest
from entrypoints.container import build, init_db

app = build()
init_db(app)
emitter = app.emitter()
for b in range(1_000_000):
    batch = [
        EmitRequest("custom.tick", {{"b": b, "i": i}}, session_id=f"s-{{(b + i) % {SESSIONS}}}",
                    event_id=f"e-{{b}}-{{i}}")
        for i in range({BATCH})
    ]
    emitter.emit_batch(batch)
    print(b, flush=True)
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def writer_env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "ZAKOPS_STORE": settings.store, "PYTHONPATH": str(ROOT)}
    env["ZAKOPS_SQLITE_PATH"] = str(settings.sqlite_path)
    env["ZAKOPS_POSTGRES_SCHEMA"] = settings.postgres_schema
    if settings.postgres_dsn is not None:
        env["ZAKOPS_POSTGRES_DSN"] = settings.postgres_dsn.get_secret_value()
    return env


def test_killed_writer_loses_no_acknowledged_batch(app: Container, settings: Settings) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER],
        cwd=ROOT,
        env=writer_env(settings),
        stdout=subprocess.PIPE,
        text=True,
    )
    acknowledged: list[int] = []
    try:
        assert writer.stdout is not None
        deadline = time.monotonic() + 120
        while len(acknowledged) < 150 and time.monotonic() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            acknowledged.append(int(line))
        os.kill(writer.pid, signal.SIGKILL)
        rest = writer.stdout.read()
        acknowledged += [int(n) for n in rest.split()]
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert len(acknowledged) >= 150, "the writer should have acknowledged batches"

    queries = app.queries()
    stored: dict[str, int] = {}
    for s in range(SESSIONS):
        events = queries.get_events_by_session(f"s-{s}", limit=1000)
        while len(events) % 1000 == 0 and events:
            more = queries.get_events_by_session(f"s-{s}", since_seq=events[-1].seq, limit=1000)
            if not more:
                break
            events += more
        assert [e.seq for e in events] == list(range(1, len(events) + 1)), "seq has a gap"
        for e in events:
            assert e.event_id not in stored, "an event is stored twice"
            stored[e.event_id] = e.payload["b"]
    batches: dict[int, int] = {}
    for b in stored.values():
        batches[b] = batches.get(b, 0) + 1
    assert all(count == BATCH for count in batches.values()), "a batch is stored in part"
    assert set(acknowledged) <= set(batches), "an acknowledged batch is missing"
    assert sorted(batches) == list(range(len(batches))), "batches are stored in order"

    last = queries.get_session("s-0").last_seq
    app.sessions().record("s-0", "custom.after", {})
    assert queries.get_session("s-0").last_seq == last + 1
