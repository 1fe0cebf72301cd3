"""Raw write-path baselines: psycopg 3 and sqlite3 doing what our event store does, nothing else.

One row per event in a table shaped like the store's (same columns, same unique constraints,
same secondary indexes); `state` is the event's JSON encoded UTF-8. Rows are built before the
clock starts, connections are opened before it starts and closed after it stops, so the
timings are the drivers' and databases' cost of inserting and committing.

    python -m bench.raw    # smoke run: events/s for each method on both stores
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
EVENT_TYPE = "agent.thinking"

# event_id, type, timestamp, session_id, seq, run_id, correlation_id, state
Row = tuple[str, str, datetime, str, int, str | None, str | None, bytes]
# the same row with the timestamp as ISO-8601 text, as SQLite stores it
SQLiteRow = tuple[str, str, str, str, int, str | None, str | None, bytes]
# rows of one batch: (session, first seq, count) -> rows
BuildRows = Callable[[str, int, int], list[Row]]

_COLUMNS = "event_id, type, timestamp, session_id, seq, run_id, correlation_id, state"


def envelope_rows(
    count: int, session: str, run: str | None, start_seq: int = 1, payload_bytes: int = 200
) -> list[Row]:
    """`count` events of one session with dense seq from `start_seq`.

    `payload_bytes` is the size `state` is padded to (the envelope alone is about 250 bytes,
    so the default gives ~250-byte states; pass 1024 for about 1 KB).
    """
    rows: list[Row] = []
    for offset in range(count):
        event_id = str(uuid.uuid4())
        timestamp = datetime.now(UTC)
        document: dict[str, object] = {
            "timestamp": timestamp.isoformat(),
            "meta": {
                "event_id": event_id,
                "source": "api",
                "session_id": session,
                "run_id": run,
                "correlation_id": run,
                "causation_id": None,
                "actor": None,
                "schema_version": 1,
            },
            "payload": {"content": ""},
        }
        bare = len(json.dumps(document, separators=(",", ":")).encode())
        document["payload"] = {"content": "x" * max(0, payload_bytes - bare)}
        state = json.dumps(document, separators=(",", ":")).encode()
        rows.append((event_id, EVENT_TYPE, timestamp, session, start_seq + offset, run, run, state))
    return rows


def rss_mb(pid: int | None = None) -> float:
    """Resident set size in MB (VmRSS of /proc/<pid>/status; default this process)."""
    status = Path(f"/proc/{os.getpid() if pid is None else pid}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # reported in kB
    raise LookupError(f"no VmRSS for pid {pid}")


def _new_session(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


def _run_threads(workers: Sequence[Callable[[], None]]) -> float:
    """Start every worker at once behind a barrier; wall seconds until the last one is done."""
    barrier = threading.Barrier(len(workers) + 1)
    errors: list[BaseException] = []

    def wrap(work: Callable[[], None]) -> Callable[[], None]:
        def target() -> None:
            try:
                barrier.wait()
                work()
            except BaseException as exc:
                errors.append(exc)
                barrier.abort()

        return target

    pool = [threading.Thread(target=wrap(work)) for work in workers]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


class RawPostgres:
    """psycopg 3 baseline in a schema of its own (created here, dropped by `close`)."""

    def __init__(self, dsn: str, schema: str, payload_bytes: int = 200) -> None:
        self.dsn = dsn
        self.schema = schema
        self.payload_bytes = payload_bytes
        table = sql.Identifier(schema, "events")
        self._insert = sql.SQL(
            "INSERT INTO {} (" + _COLUMNS + ") VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(table)
        ddl = [
            sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)),
            sql.SQL(
                "CREATE TABLE {} ("
                " position bigserial UNIQUE,"
                " event_id text PRIMARY KEY,"
                " type text NOT NULL,"
                " timestamp timestamptz NOT NULL,"
                " session_id text,"
                " seq bigint,"
                " run_id text,"
                " correlation_id text,"
                " state bytea NOT NULL,"
                " UNIQUE (session_id, seq))"
            ).format(table),
            sql.SQL("CREATE INDEX events_session_run_seq ON {} (session_id, run_id, seq)").format(
                table
            ),
            sql.SQL(
                "CREATE INDEX events_correlation_position ON {} (correlation_id, position)"
            ).format(table),
        ]
        with psycopg.connect(dsn) as conn:  # one transaction, committed on exit
            for statement in ddl:
                conn.execute(statement)

    def _connect(self) -> psycopg.Connection[TupleRow]:
        return psycopg.connect(self.dsn, autocommit=False)

    def _rows(self, count: int, label: str) -> list[Row]:
        session = _new_session(label)
        return envelope_rows(count, session, f"r-{session}", payload_bytes=self.payload_bytes)

    def _one_per_transaction(self, conn: psycopg.Connection[TupleRow], rows: list[Row]) -> None:
        with conn.cursor() as cur:
            for row in rows:
                cur.execute(self._insert, row)
                conn.commit()

    def single(self, rows: int) -> float:
        """One connection, one row per transaction."""
        data = self._rows(rows, "single")
        with self._connect() as conn:
            start = time.perf_counter()
            self._one_per_transaction(conn, data)
            return time.perf_counter() - start

    def threads(self, threads: int, rows_per_thread: int) -> float:
        """`threads` connections writing one session each, one row per transaction; wall time."""
        conns = [self._connect() for _ in range(threads)]
        try:
            work = [
                (conn, self._rows(rows_per_thread, f"thread{n}")) for n, conn in enumerate(conns)
            ]
            return _run_threads([partial(self._one_per_transaction, c, d) for c, d in work])
        finally:
            for conn in conns:
                conn.close()

    def batches(self, batches: int, size: int) -> float:
        """One session; `executemany` of `size` rows per transaction, seq continuing."""
        session = _new_session("batch")
        data = [
            envelope_rows(size, session, f"r-{session}", b * size + 1, self.payload_bytes)
            for b in range(batches)
        ]
        return self._timed_batches(batches, lambda b: data[b])

    def built_batches(self, batches: int, size: int, build: BuildRows) -> float:
        """As `batches`, but each batch's rows are built by `build` inside the clock."""
        session = _new_session("built")
        return self._timed_batches(batches, lambda b: build(session, b * size + 1, size))

    def _timed_batches(self, batches: int, rows_of: Callable[[int], list[Row]]) -> float:
        """Seconds to `executemany` and commit the rows of each batch in turn."""
        with self._connect() as conn:
            start = time.perf_counter()
            with conn.cursor() as cur:
                for b in range(batches):
                    cur.executemany(self._insert, rows_of(b))
                    conn.commit()
            return time.perf_counter() - start

    def count(self) -> int:
        with psycopg.connect(self.dsn) as conn:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(self.schema, "events"))
            found = conn.execute(query).fetchone()
        return 0 if found is None else int(found[0])

    def close(self) -> None:
        """Drop the schema and everything in it."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )


_SQLITE_DDL = (
    "CREATE TABLE events ("
    " position INTEGER PRIMARY KEY,"
    " event_id TEXT NOT NULL UNIQUE,"
    " type TEXT NOT NULL,"
    " timestamp TEXT NOT NULL,"
    " session_id TEXT,"
    " seq INTEGER,"
    " run_id TEXT,"
    " correlation_id TEXT,"
    " state BLOB NOT NULL,"
    " UNIQUE (session_id, seq))",
    "CREATE INDEX events_session_run_seq ON events (session_id, run_id, seq)",
    "CREATE INDEX events_correlation_position ON events (correlation_id, position)",
)
_SQLITE_INSERT = f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def _iso(rows: list[Row]) -> list[SQLiteRow]:
    return [(e, t, ts.isoformat(), s, q, r, c, st) for e, t, ts, s, q, r, c, st in rows]


class RawSQLite:
    """sqlite3 baseline in a new database file (WAL, otherwise sqlite3 defaults).

    The file must not exist yet; `close` deletes it with its -wal and -shm files.
    """

    BUSY_TIMEOUT_S = 30.0

    def __init__(self, path: str | Path, payload_bytes: int = 200) -> None:
        self.path = Path(path)
        self.payload_bytes = payload_bytes
        if self.path.exists():
            raise FileExistsError(self.path)
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # persistent: every later connection uses it
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SQLITE_DDL:
                conn.execute(statement)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT_S, isolation_level=None)

    def _rows(self, count: int, label: str) -> list[SQLiteRow]:
        session = _new_session(label)
        return _iso(envelope_rows(count, session, f"r-{session}", payload_bytes=self.payload_bytes))

    @staticmethod
    def _one_per_transaction(conn: sqlite3.Connection, rows: list[SQLiteRow]) -> None:
        for row in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_SQLITE_INSERT, row)
            conn.execute("COMMIT")

    def single(self, rows: int) -> float:
        """One connection, one row per transaction."""
        data = self._rows(rows, "single")
        conn = self._connect()
        try:
            start = time.perf_counter()
            self._one_per_transaction(conn, data)
            return time.perf_counter() - start
        finally:
            conn.close()

    def threads(self, threads: int, rows_per_thread: int) -> float:
        """`threads` threads, each opening its own connection and writing one session; wall time.

        SQLite serialises writers: each BEGIN IMMEDIATE waits (up to 30 s) for the write lock.
        """
        data = [self._rows(rows_per_thread, f"thread{n}") for n in range(threads)]

        def writer(rows: list[SQLiteRow]) -> None:
            conn = self._connect()  # sqlite3 connections stay in the thread that opened them
            try:
                self._one_per_transaction(conn, rows)
            finally:
                conn.close()

        return _run_threads([partial(writer, rows) for rows in data])

    def batches(self, batches: int, size: int) -> float:
        """One session; `executemany` of `size` rows per transaction, seq continuing."""
        session = _new_session("batch")
        data = [
            _iso(envelope_rows(size, session, f"r-{session}", b * size + 1, self.payload_bytes))
            for b in range(batches)
        ]
        return self._timed_batches(batches, lambda b: data[b])

    def built_batches(self, batches: int, size: int, build: BuildRows) -> float:
        """As `batches`, but each batch's rows are built by `build` inside the clock."""
        session = _new_session("built")
        return self._timed_batches(batches, lambda b: _iso(build(session, b * size + 1, size)))

    def _timed_batches(self, batches: int, rows_of: Callable[[int], list[SQLiteRow]]) -> float:
        """Seconds to `executemany` and commit the rows of each batch in turn."""
        conn = self._connect()
        try:
            start = time.perf_counter()
            for b in range(batches):
                rows = rows_of(b)
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(_SQLITE_INSERT, rows)
                conn.execute("COMMIT")
            return time.perf_counter() - start
        finally:
            conn.close()

    def count(self) -> int:
        conn = self._connect()
        try:
            found: tuple[int] = conn.execute("SELECT count(*) FROM events").fetchone()
            return found[0]
        finally:
            conn.close()

    def close(self) -> None:
        """Delete the database file and its WAL/shared-memory files."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def _smoke() -> None:
    import tempfile

    single_rows, threads, per_thread, batches, size = 300, 4, 100, 20, 100

    def line(store: str, method: str, events: int, seconds: float) -> None:
        print(f"{store:8} {method:16} {events:6} events {events / seconds:10,.0f} events/s")

    def report(store: str, raw: RawPostgres | RawSQLite) -> None:
        line(store, "single", single_rows, raw.single(single_rows))
        line(store, f"threads x{threads}", threads * per_thread, raw.threads(threads, per_thread))
        line(store, f"batches of {size}", batches * size, raw.batches(batches, size))
        expected = single_rows + threads * per_thread + batches * size
        assert raw.count() == expected, (raw.count(), expected)

    with tempfile.TemporaryDirectory() as folder:
        lite = RawSQLite(Path(folder) / "raw.sqlite")
        try:
            report("sqlite", lite)
        finally:
            lite.close()

    database = f"zakops_raw_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        pg = RawPostgres(f"postgresql://postgres@127.0.0.1:5432/{database}", "raw_bench")
        try:
            report("postgres", pg)
        finally:
            pg.close()
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
    print(f"rss {rss_mb():.1f} MB")


if __name__ == "__main__":
    _smoke()
