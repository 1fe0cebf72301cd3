"""The timeline view in PostgreSQL, in the store's schema, through a psycopg 3 pool."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from adapters.timeline.sql import Cursor, SqlTimelineView, iter_statements

DDL = """
CREATE TABLE IF NOT EXISTS session_events (
    position bigint PRIMARY KEY,
    event_id varchar(120) NOT NULL UNIQUE,
    type varchar(100) NOT NULL,
    timestamp timestamptz NOT NULL,
    session_id varchar(64),
    seq bigint CHECK (seq >= 1),
    run_id varchar(64),
    source varchar(100) NOT NULL,
    correlation_id varchar(64),
    causation_id varchar(64),
    actor varchar(255),
    schema_version integer NOT NULL,
    payload jsonb NOT NULL,
    UNIQUE (session_id, seq)
);
CREATE INDEX IF NOT EXISTS idx_session_event_run_seq ON session_events (session_id, run_id, seq);
CREATE INDEX IF NOT EXISTS idx_session_events_correlation
    ON session_events (correlation_id, position);
CREATE INDEX IF NOT EXISTS idx_session_events_type_time ON session_events (type, timestamp);
CREATE TABLE IF NOT EXISTS aggregate_states (
    kind varchar(16) NOT NULL,
    key varchar(100) NOT NULL,
    status varchar(32) NOT NULL,
    session_id varchar(64),
    deal_id varchar(20),
    updated_at timestamptz NOT NULL,
    last_position bigint NOT NULL,
    data jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS idx_aggregate_states_list ON aggregate_states (kind, updated_at);
CREATE TABLE IF NOT EXISTS projection_tracking (
    name varchar(64) PRIMARY KEY,
    position bigint NOT NULL
)
"""

MERGE_STATE = """
INSERT INTO aggregate_states AS s
    (kind, key, status, session_id, deal_id, updated_at, last_position, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, key) DO UPDATE SET
    status = CASE WHEN excluded.status = '' THEN s.status ELSE excluded.status END,
    session_id = COALESCE(excluded.session_id, s.session_id),
    deal_id = COALESCE(excluded.deal_id, s.deal_id),
    updated_at = excluded.updated_at,
    last_position = excluded.last_position,
    data = s.data || excluded.data
"""

LOCK_KEY = 0x7A4B_0001  # pg_advisory_xact_lock key of the timeline projection


class _PgCursor(Cursor):
    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(sql.replace("?", "%s"), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(sql.replace("?", "%s"), rows)

    def fetchall(self) -> list[tuple[Any, ...]]:
        # the store's own cursors return dict rows; ours return tuples
        return [
            tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in self.cursor.fetchall()
        ]


class PostgresTimelineView(SqlTimelineView):
    def __init__(self, dsn: str, schema: str, pool_size: int = 5) -> None:
        self.schema = schema
        self.pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=max(2, pool_size),
            kwargs={"autocommit": True, "options": f"-c search_path={schema}"},
            open=True,
            timeout=10,
        )

    def create_tables(self) -> None:
        with self.pool.connection() as connection:
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                for statement in iter_statements(DDL):
                    connection.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        # Pipeline mode: the batch's writes travel together and wait for one round trip.
        with self.pool.connection() as connection, connection.pipeline(), connection.transaction():
            # The timeline is derived: if the server crashed and lost this commit, its tracking
            # row is lost with it and the rows are projected again from the log. So it need
            # not wait for the disk (the events themselves are committed durably).
            connection.execute("SET LOCAL synchronous_commit = off")
            yield _PgCursor(connection.cursor())

    def wrap(self, cursor: Any) -> Cursor:
        # The store's connection does not search our schema; for the rest of its
        # transaction it does (the library's own statements name their schema).
        cursor.execute(f'SET LOCAL search_path = "{self.schema}", public')
        return _PgCursor(cursor)

    def lock_and_position(self, cur: Cursor) -> int:
        cur.execute(
            "SELECT pg_advisory_xact_lock(?), "
            "(SELECT position FROM projection_tracking WHERE name = ?)",
            (LOCK_KEY, self.name),
        )
        found = cur.fetchall()
        return int(found[0][1]) if found and found[0][1] is not None else 0

    def last_seqs(self, cur: Cursor, sessions: set[str]) -> dict[str, int]:
        if not sessions:
            return {}
        cur.execute(
            "SELECT s, (SELECT seq FROM session_events WHERE session_id = s "
            "ORDER BY seq DESC LIMIT 1) FROM unnest(?::text[]) AS s",
            (sorted(sessions),),
        )
        return {str(s): int(seq or 0) for s, seq in cur.fetchall()}

    def is_unique_violation(self, error: Exception) -> bool:
        return isinstance(error, psycopg.errors.UniqueViolation)

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        with self.pool.connection() as connection:
            yield _PgCursor(connection.cursor())

    def lock(self, cursor: Cursor) -> None:
        # One writer per projection across processes; others wait, then see the new position.
        cursor.execute("SELECT pg_advisory_xact_lock(?)", (LOCK_KEY,))

    def to_db_time(self, value: datetime) -> Any:
        return value

    def from_db_time(self, value: Any) -> datetime:
        assert isinstance(value, datetime)
        return value

    def to_db_json(self, value: dict[str, Any]) -> Any:
        return Jsonb(value)

    def from_db_json(self, value: Any) -> dict[str, Any]:
        assert isinstance(value, dict)
        return value

    def merge_state_sql(self) -> str:
        return MERGE_STATE

    def close(self) -> None:
        self.pool.close()
