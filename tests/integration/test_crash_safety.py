"""A projection worker killed with SIGKILL mid-batch resumes without loss or duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.model import EventMeta
from domain.payloads import CustomPayload
from domain.session import Session
from entrypoints.container import Container
from entrypoints.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def write_without_projecting(app: Container, sessions: int, per_session: int) -> int:
    """Store events straight through the library, leaving the timeline behind."""
    at = datetime.now(UTC)
    for s in range(sessions):
        session: Session | None = None
        for i in range(per_session):
            meta = EventMeta(event_id=f"e-{s}-{i}", session_id=f"s-{s}")
            payload = CustomPayload.model_validate({"i": i})
            if session is None:
                session = Session.create(meta, at, "custom.tick", payload)
            else:
                session.record(meta, at, "custom.tick", payload)
        app.store().save(session)
    return app.store().head()


def worker_env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "ZAKOPS_STORE": settings.store, "PYTHONPATH": str(ROOT)}
    env["ZAKOPS_SQLITE_PATH"] = str(settings.sqlite_path)
    env["ZAKOPS_POSTGRES_SCHEMA"] = settings.postgres_schema
    if settings.postgres_dsn is not None:
        env["ZAKOPS_POSTGRES_DSN"] = settings.postgres_dsn.get_secret_value()
    return env


def test_killed_worker_resumes_exactly_once(app: Container, settings: Settings) -> None:
    head = write_without_projecting(app, sessions=40, per_session=500)
    view = app.timeline_view()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "entrypoints.cli",
            "projections",
            "run",
            "timeline",
            "--batch-size",
            "50",
            "--poll",
            "0.05",
        ],
        cwd=ROOT,
        env=worker_env(settings),
    )
    try:
        deadline = time.monotonic() + 60
        while view.position() == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    killed_at = view.position()
    assert 0 < killed_at < head, "the worker should die mid-way; make the log longer"

    assert app.timeline().catch_up() == head
    everything = app.queries().get_recent(1000)
    assert len(everything) == 1000
    total = 0
    for s in range(40):
        events = app.queries().get_events_by_session(f"s-{s}", limit=1000)
        assert [e.seq for e in events] == list(range(1, 501))
        assert [e.event_id for e in events] == [f"e-{s}-{i}" for i in range(500)]
        total += len(events)
    assert total == head == 20_000
