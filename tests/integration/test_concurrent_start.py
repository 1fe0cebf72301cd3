"""Processes started at once on a fresh PostgreSQL database all come up (issue 10, item 7: one
died with "tuple concurrently updated" while creating the schema)."""

from __future__ import annotations

import multiprocessing
import traceback
from multiprocessing.synchronize import Barrier

import pytest

from tests.postgres import temporary_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PROCESSES = 3
ROUNDS = 3


def start(dsn: str, barrier: Barrier, errors: multiprocessing.Queue[str]) -> None:
    """What every API process and `zakops db init` does on start, released at one instant."""
    try:
        from pydantic import SecretStr

        from entrypoints.container import build, close, init_db
        from entrypoints.settings import Settings

        secret = SecretStr(dsn)
        settings = Settings(
            store="postgres", postgres_dsn=secret, legacy_dsn=secret, _env_file=None
        )
        container = build(settings)
        barrier.wait(timeout=60)
        init_db(container)
        pid = multiprocessing.current_process().pid
        container.runs().create_run(f"s-{pid}", f"r-{pid}")
        close(container)
    except BaseException:
        errors.put(traceback.format_exc())
        raise


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_processes_started_at_once_on_a_fresh_database_all_come_up(round_: int) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    errors: multiprocessing.Queue[str] = context.Queue()
    with temporary_database(f"zakops_start{round_}") as dsn:
        workers = [
            context.Process(target=start, args=(dsn, barrier, errors)) for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        codes = [worker.exitcode for worker in workers]
        found = [errors.get(timeout=1) for _ in range(errors.qsize())]
        assert codes == [0] * PROCESSES, "\n".join(found)
