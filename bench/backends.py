"""Per-backend set-up for the benchmarks: a fresh SQLite file or a throw-away PG database."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from pydantic import SecretStr

from entrypoints.container import Container, build, close, init_db
from entrypoints.settings import Settings

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Backend:
    name: str
    settings: Settings
    raw_single: Callable[[int], float]  # rows -> seconds, one transaction per row
    raw_batch: Callable[[int, int], float]  # (batches, rows per batch) -> seconds


def _payload(i: int) -> str:
    return json.dumps({"type": "custom.tick", "i": i, "session_id": "s-1", "event_id": str(i)})


@contextmanager
def sqlite_backend() -> Iterator[Backend]:
    with tempfile.TemporaryDirectory() as folder:
        raw_path = Path(folder) / "raw.sqlite"
        raw = sqlite3.connect(raw_path, isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, data TEXT NOT NULL)")

        def single(rows: int) -> float:
            start = time.perf_counter()
            for i in range(rows):
                raw.execute("BEGIN")
                raw.execute("INSERT INTO raw (data) VALUES (?)", (_payload(i),))
                raw.execute("COMMIT")
            return time.perf_counter() - start

        def batch(batches: int, size: int) -> float:
            start = time.perf_counter()
            for b in range(batches):
                raw.execute("BEGIN")
                raw.executemany(
                    "INSERT INTO raw (data) VALUES (?)",
                    [(_payload(b * size + i),) for i in range(size)],
                )
                raw.execute("COMMIT")
            return time.perf_counter() - start

        settings = Settings(
            store="sqlite", sqlite_path=Path(folder) / "zakops.sqlite", _env_file=None
        )
        yield Backend("sqlite", settings, single, batch)
        raw.close()


@contextmanager
def postgres_backend() -> Iterator[Backend]:
    name = f"zakops_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    raw = psycopg.connect(dsn, autocommit=True)
    raw.execute("CREATE TABLE raw (id bigserial PRIMARY KEY, data jsonb NOT NULL)")

    def single(rows: int) -> float:
        start = time.perf_counter()
        for i in range(rows):
            raw.execute("INSERT INTO raw (data) VALUES (%s::jsonb)", (_payload(i),))
        return time.perf_counter() - start

    def batch(batches: int, size: int) -> float:
        start = time.perf_counter()
        for b in range(batches):
            with raw.transaction(), raw.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO raw (data) VALUES (%s::jsonb)",
                    [(_payload(b * size + i),) for i in range(size)],
                )
        return time.perf_counter() - start

    try:
        settings = Settings(store="postgres", postgres_dsn=SecretStr(dsn), _env_file=None)
        yield Backend("postgres", settings, single, batch)
    finally:
        raw.close()
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def container_for(settings: Settings) -> Iterator[Container]:
    container = build(settings)
    init_db(container)
    try:
        yield container
    finally:
        close(container)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


__all__ = ["Any", "Backend", "container_for", "percentile", "postgres_backend", "sqlite_backend"]
