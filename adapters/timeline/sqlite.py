"""The timeline view in the embedded SQLite file (beside the library's own tables)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.timeline.sql import Cursor, SqlTimelineView, dumps, iter_statements

DDL = """
CREATE TABLE IF NOT EXISTS session_events (
    position INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    session_id TEXT,
    seq INTEGER CHECK (seq >= 1),
    run_id TEXT,
    source TEXT NOT NULL,
    correlation_id TEXT,
    causation_id TEXT,
    actor TEXT,
    schema_version INTEGER NOT NULL,
    payload TEXT NOT NULL,
    UNIQUE (session_id, seq)
);
CREATE INDEX IF NOT EXISTS idx_session_event_run_seq ON session_events (session_id, run_id, seq);
CREATE INDEX IF NOT EXISTS idx_session_events_correlation
    ON session_events (correlation_id, position);
CREATE INDEX IF NOT EXISTS idx_session_events_type_time ON session_events (type, timestamp);
CREATE TABLE IF NOT EXISTS aggregate_states (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    session_id TEXT,
    deal_id TEXT,
    updated_at TEXT NOT NULL,
    last_position INTEGER NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS idx_aggregate_states_list ON aggregate_states (kind, updated_at);
CREATE TABLE IF NOT EXISTS projection_tracking (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
)
"""

MERGE_STATE = """
INSERT INTO aggregate_states
    (kind, key, status, session_id, deal_id, updated_at, last_position, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, key) DO UPDATE SET
    status = CASE WHEN excluded.status = '' THEN aggregate_states.status
                  ELSE excluded.status END,
    session_id = COALESCE(excluded.session_id, aggregate_states.session_id),
    deal_id = COALESCE(excluded.deal_id, aggregate_states.deal_id),
    updated_at = excluded.updated_at,
    last_position = excluded.last_position,
    data = json_patch(aggregate_states.data, excluded.data)
"""


class _SQLiteCursor(Cursor):
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(sql, rows)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.cursor.fetchall()]


class SQLiteTimelineView(SqlTimelineView):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path, isolation_level=None, timeout=30, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def create_tables(self) -> None:
        connection = self._connection()
        for statement in iter_statements(DDL):
            connection.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")  # take the write lock before reading tracking
        try:
            yield _SQLiteCursor(connection.cursor())
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        yield _SQLiteCursor(self._connection().cursor())

    def wrap(self, cursor: Any) -> Cursor:
        return _SQLiteCursor(cursor)

    def lock(self, cursor: Cursor) -> None:
        return None  # BEGIN IMMEDIATE already holds SQLite's single write lock

    def is_unique_violation(self, error: Exception) -> bool:
        return isinstance(error, sqlite3.IntegrityError) and "UNIQUE" in str(error)

    def to_db_time(self, value: datetime) -> Any:
        return value.isoformat()

    def from_db_time(self, value: Any) -> datetime:
        return datetime.fromisoformat(str(value))

    def to_db_json(self, value: dict[str, Any]) -> Any:
        return dumps(value)

    def from_db_json(self, value: Any) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(value)
        return loaded

    def merge_state_sql(self) -> str:
        return MERGE_STATE

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
