"""Real optimistic-concurrency conflicts: two processes write to one aggregate at once (threads
in one process take turns on a striped lock and never conflict). On SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import traceback
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from domain.errors import ConcurrencyConflict
from entrypoints.container import build, close, init_db
from entrypoints.settings import Settings
from tests.conftest import settings_for

WRITES = 150


def writer(
    settings: dict[str, Any], retries: int, barrier: Barrier, out: multiprocessing.Queue[Any]
) -> None:
    """Think `WRITES` times on run r-1; report (written, ConcurrencyConflicts, retries taken)."""
    try:
        container = build(Settings(**settings, command_retries=retries, _env_file=None))
        runs = container.runs()
        taken = [0]
        backoff = runs.deps.backoff

        def counted(attempt: int) -> None:
            taken[0] += 1
            backoff(attempt)

        runs.deps.backoff = counted  # type: ignore[method-assign]  # count the retries taken
        barrier.wait(timeout=60)
        written = conflicts = 0
        for i in range(WRITES):
            try:
                runs.think("r-1", content=str(i))
                written += 1
            except ConcurrencyConflict:
                conflicts += 1
        close(container)
        out.put((written, conflicts, taken[0]))
    except BaseException:
        out.put(traceback.format_exc())
        raise


def race(settings: Settings, retries: int) -> list[tuple[int, int, int]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    out: multiprocessing.Queue[Any] = context.Queue()
    given = settings.model_dump(include={"store", "sqlite_path", "postgres_schema"})
    if settings.postgres_dsn is not None:
        given["postgres_dsn"] = settings.postgres_dsn.get_secret_value()
    workers = [
        context.Process(target=writer, args=(given, retries, barrier, out)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert all(isinstance(r, tuple) for r in results), results
    return results


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    settings = settings_for(str(request.param), request, tmp_path)
    container = build(settings)
    init_db(container)
    container.runs().create_run("s-1", "r-1")
    container.runs().start_run("r-1")
    close(container)
    return settings


def thoughts(settings: Settings) -> list[str]:
    container = build(settings)
    try:
        events = container.queries().get_events_by_run("r-1", limit=1000)
    finally:
        close(container)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    return [e.type for e in events if e.type == "agent.thinking"]


def test_conflicting_writers_retry_and_lose_nothing(shared: Settings) -> None:
    results = race(shared, retries=50)
    assert [written for written, _, _ in results] == [WRITES, WRITES]
    assert sum(taken for _, _, taken in results) > 0, "no conflict happened: no retry was taken"
    assert len(thoughts(shared)) == 2 * WRITES


def test_without_retries_a_conflict_is_a_concurrency_conflict(shared: Settings) -> None:
    results = race(shared, retries=1)
    assert sum(conflicts for _, conflicts, _ in results) > 0, "the writers never collided"
    assert len(thoughts(shared)) == sum(written for written, _, _ in results)
