"""The events table with its envelope columns, in PostgreSQL and SQLite: DDL, statements, and
the upgrade of a store written by the release that kept a separate timeline table.

Columns beside the library's (`originator_id`, `originator_version`, `topic`, `state`, and
the notification id): `event_id` (unique), `type` (NULL for internal bookkeeping events),
`timestamp`, `session_id`, `seq` (dense per session, unique with it), `run_id`,
`correlation_id`. Indexes: `(session_id, seq)`, `idx_session_event_run_seq (session_id,
run_id, seq)`, `(correlation_id, position)`. `aggregate_states` holds the summaries behind
the listings, upserted in the events' transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eventsourcing.persistence import JSONTranscoder, StoredEvent
from psycopg import Connection
from psycopg.types.json import Jsonb

from application.ports import StateRow

INIT_LOCK = 0x7A4B_0000  # pg_advisory_lock key held while a process creates or upgrades tables
ENVELOPE_COLUMNS = (
    "event_id",
    "type",
    "timestamp",
    "session_id",
    "seq",
    "run_id",
    "correlation_id",
)
OLD_TIMELINE = "session_events"  # the separate timeline table of the previous release


def summary_params(state: StateRow, position: int, *, sqlite: bool = False) -> tuple[Any, ...]:
    data = dict(state.data)
    return (
        state.kind,
        state.key,
        state.status,
        state.session_id,
        state.deal_id,
        state.updated_at.isoformat() if sqlite else state.updated_at,
        position,
        json.dumps(data, separators=(",", ":"), ensure_ascii=False) if sqlite else Jsonb(data),
    )


def merged_summaries(rows: Sequence[Any]) -> list[tuple[Any, int, StateRow]]:
    """One summary per (kind, key), merged in event order as the upsert would merge them
    (one statement may change a row only once): the last event's row, with its status (or
    the earlier one when it has none), the latest session and deal, and every data key.
    Each comes with the (originator_id, version) of the event that fills its position."""
    merged: dict[tuple[str, str], tuple[Any, int, StateRow]] = {}
    for row in rows:
        state: StateRow | None = row.summary
        if state is None:
            continue
        old = merged.get((state.kind, state.key))
        if old is not None:
            before = old[2]
            state = replace(
                state,
                status=state.status or before.status,
                session_id=state.session_id or before.session_id,
                deal_id=state.deal_id or before.deal_id,
                data={**before.data, **state.data},
            )
        merged[(state.kind, state.key)] = (row.originator_id, row.originator_version, state)
    return list(merged.values())


def append_params(rows: Sequence[Any]) -> tuple[str, str]:
    """The two JSON parameters of the append function: the rows, and one merged state
    summary per aggregate, each as an array of arrays (positional, compact)."""
    events = []
    for row in rows:
        values = row.columns()
        values[0], values[3] = str(values[0]), values[3].hex()  # JSON has no uuid or bytes
        events.append(values)
    sums = [
        [
            str(oid),
            v,
            s.kind,
            s.key,
            s.status,
            s.session_id,
            s.deal_id,
            s.updated_at.isoformat(),
            s.data,
        ]
        for oid, v, s in merged_summaries(rows)
    ]
    dump = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    return dump(events), dump(sums)


@dataclass(frozen=True)
class PostgresSql:
    schema: str
    table: str

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.table}"'

    def create_table(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {self.qualified} ("
            "originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
            "topic text, state bytea, notification_id bigserial, "
            "event_id text, type text, timestamp timestamptz, session_id text, "
            "seq bigint CHECK (seq >= 1), run_id text, correlation_id text, "
            "PRIMARY KEY (originator_id, originator_version)) WITH ("
            "autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000, "
            "autovacuum_vacuum_scale_factor = 0.5, autovacuum_analyze_threshold = 1000, "
            "autovacuum_analyze_scale_factor = 0.01)"
        )

    def create_indexes(self) -> list[str]:
        t, s = self.qualified, f'"{self.schema}"'
        return [
            f'CREATE UNIQUE INDEX IF NOT EXISTS "{self.table}_event_id" ON {t} (event_id)',
            f'CREATE UNIQUE INDEX IF NOT EXISTS "{self.table}_session_seq" ON {t} '
            "(session_id, seq)",
            "CREATE INDEX IF NOT EXISTS idx_session_event_run_seq "
            f"ON {t} (session_id, run_id, seq)",
            f'CREATE INDEX IF NOT EXISTS "{self.table}_correlation" ON {t} '
            "(correlation_id, notification_id)",
            f"CREATE TABLE IF NOT EXISTS {s}.aggregate_states ("
            "kind text NOT NULL, key text NOT NULL, status text NOT NULL, session_id text, "
            "deal_id text, updated_at timestamptz NOT NULL, last_position bigint NOT NULL, "
            "data jsonb NOT NULL DEFAULT '{}', PRIMARY KEY (kind, key))",
            f"CREATE INDEX IF NOT EXISTS idx_aggregate_states_list ON {s}.aggregate_states "
            "(kind, updated_at)",
        ]

    def append_function(self, lock_timeout: int, channel: str) -> str:
        """One call, one round trip, one transaction (autocommit): take the library's table
        lock (commit order = notification order), NOTIFY its channel, insert the rows with
        their seq, upsert the state summaries, return (notification_id, seq) per event.

        Rows and summaries arrive as two JSON arrays of arrays (see `append_params`): one
        C-encoded parameter each costs the client far less than adapting 19 typed arrays."""
        t, s = self.qualified, f'"{self.schema}"'
        return (
            f"CREATE OR REPLACE FUNCTION {self.function} (p_rows jsonb, p_sums jsonb) "
            "RETURNS TABLE (notification_id bigint, seq bigint) LANGUAGE plpgsql "
            "SET plan_cache_mode = force_generic_plan AS $body$ "
            "#variable_conflict use_column\n"
            f"BEGIN PERFORM set_config('lock_timeout', '{lock_timeout}s', true); "
            f"LOCK TABLE {t} IN EXCLUSIVE MODE; "
            f'NOTIFY "{channel}"; '
            "RETURN QUERY WITH e AS (SELECT (r->>0)::uuid AS originator_id, "
            "(r->>1)::bigint AS originator_version, r->>2 AS topic, "
            "decode(r->>3, 'hex') AS state, r->>4 AS event_id, r->>5 AS type, "
            "(r->>6)::timestamptz AS ts, r->>7 AS session_id, r->>8 AS run_id, "
            "r->>9 AS correlation_id, ord FROM jsonb_array_elements(p_rows) "
            "WITH ORDINALITY AS x(r, ord)), "
            f"heads AS (SELECT h.session_id, COALESCE((SELECT x.seq FROM {t} x "
            "WHERE x.session_id = h.session_id ORDER BY x.seq DESC LIMIT 1), 0) AS last "
            "FROM (SELECT DISTINCT e.session_id FROM e WHERE e.session_id IS NOT NULL) h), "
            f"ins AS (INSERT INTO {t} (originator_id, originator_version, topic, state, "
            "event_id, type, timestamp, session_id, seq, run_id, correlation_id) "
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, e.event_id, "
            "e.type, e.ts, e.session_id, CASE WHEN e.session_id IS NULL THEN NULL ELSE "
            "h.last + row_number() OVER (PARTITION BY e.session_id ORDER BY e.ord) END, "
            "e.run_id, e.correlation_id FROM e LEFT JOIN heads h "
            "ON h.session_id = e.session_id ORDER BY e.ord "
            "RETURNING notification_id, seq, originator_id, originator_version), "
            f"sums AS (INSERT INTO {s}.aggregate_states AS a "
            "(kind, key, status, session_id, deal_id, updated_at, last_position, data) "
            "SELECT u->>2, u->>3, u->>4, u->>5, u->>6, (u->>7)::timestamptz, "
            "ins.notification_id, u->8 FROM jsonb_array_elements(p_sums) AS y(u) "
            "JOIN ins ON ins.originator_id = (u->>0)::uuid "
            "AND ins.originator_version = (u->>1)::bigint "
            "ON CONFLICT (kind, key) DO UPDATE SET "
            "status = CASE WHEN excluded.status = '' THEN a.status ELSE excluded.status END, "
            "session_id = COALESCE(excluded.session_id, a.session_id), "
            "deal_id = COALESCE(excluded.deal_id, a.deal_id), "
            "updated_at = excluded.updated_at, last_position = excluded.last_position, "
            "data = a.data || excluded.data RETURNING 1) "
            "SELECT ins.notification_id, ins.seq FROM ins ORDER BY ins.notification_id; "
            "END $body$"
        )

    @property
    def function(self) -> str:
        return f'"{self.schema}"."{self.table}_append"'

    def call(self) -> str:
        return f"SELECT notification_id, seq FROM {self.function}(%s::jsonb, %s::jsonb)"

    def merge_state(self) -> str:
        return (
            f'INSERT INTO "{self.schema}".aggregate_states AS s '
            "(kind, key, status, session_id, deal_id, updated_at, last_position, data) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (kind, key) DO UPDATE SET "
            "status = CASE WHEN excluded.status = '' THEN s.status ELSE excluded.status END, "
            "session_id = COALESCE(excluded.session_id, s.session_id), "
            "deal_id = COALESCE(excluded.deal_id, s.deal_id), "
            "updated_at = excluded.updated_at, last_position = excluded.last_position, "
            "data = s.data || excluded.data"
        )


@dataclass(frozen=True)
class SQLiteSql:
    table: str

    def create_statements(self) -> Iterator[str]:
        t = self.table
        yield (
            f"CREATE TABLE IF NOT EXISTS {t} (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, event_id TEXT, type TEXT, timestamp TEXT, session_id TEXT, "
            "seq INTEGER CHECK (seq >= 1), run_id TEXT, correlation_id TEXT, "
            "PRIMARY KEY (originator_id, originator_version))"
        )
        yield f"CREATE UNIQUE INDEX IF NOT EXISTS {t}_event_id ON {t} (event_id)"
        yield f"CREATE UNIQUE INDEX IF NOT EXISTS {t}_session_seq ON {t} (session_id, seq)"
        yield (
            f"CREATE INDEX IF NOT EXISTS idx_session_event_run_seq ON {t} (session_id, run_id, seq)"
        )
        # (correlation_id) orders by rowid within a correlation: SQLite indexes end in it
        yield f"CREATE INDEX IF NOT EXISTS {t}_correlation ON {t} (correlation_id)"
        yield (
            "CREATE TABLE IF NOT EXISTS aggregate_states (kind TEXT NOT NULL, key TEXT NOT NULL, "
            "status TEXT NOT NULL, session_id TEXT, deal_id TEXT, updated_at TEXT NOT NULL, "
            "last_position INTEGER NOT NULL, data TEXT NOT NULL DEFAULT '{}', "
            "PRIMARY KEY (kind, key))"
        )
        yield (
            "CREATE INDEX IF NOT EXISTS idx_aggregate_states_list "
            "ON aggregate_states (kind, updated_at)"
        )

    def _insert(self, seq: str) -> str:
        return (
            f"INSERT INTO {self.table} (originator_id, originator_version, topic, state, "
            "event_id, type, timestamp, session_id, seq, run_id, correlation_id) "
            f"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, {seq}, ?9, ?10) RETURNING rowid, seq"
        )

    def insert_with_seq(self) -> str:
        # The INSERT itself takes SQLite's write lock, so the session's last seq read in
        # it cannot change before the commit.
        return self._insert(
            f"(SELECT COALESCE(MAX(seq), 0) + 1 FROM {self.table} WHERE session_id = ?8)"
        )

    def insert_without_seq(self) -> str:
        return self._insert("NULL")

    def insert_numbered(self) -> str:
        """Rows whose seq the recorder computed under the write lock."""
        return (
            f"INSERT INTO {self.table} (originator_id, originator_version, topic, state, "
            "event_id, type, timestamp, session_id, run_id, correlation_id, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )

    def last_seq(self) -> str:
        return f"SELECT MAX(seq) FROM {self.table} WHERE session_id = ?"

    def merge_state(self) -> str:
        return (
            "INSERT INTO aggregate_states "
            "(kind, key, status, session_id, deal_id, updated_at, last_position, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET "
            "status = CASE WHEN excluded.status = '' THEN aggregate_states.status "
            "ELSE excluded.status END, "
            "session_id = COALESCE(excluded.session_id, aggregate_states.session_id), "
            "deal_id = COALESCE(excluded.deal_id, aggregate_states.deal_id), "
            "updated_at = excluded.updated_at, last_position = excluded.last_position, "
            "data = json_patch(aggregate_states.data, excluded.data)"
        )


# -- upgrading a store of the previous release ---------------------------------------------------
@dataclass(frozen=True)
class Decoded:
    """The envelope columns of one stored event, decoded from its JSON."""

    position: int
    event_id: str
    type: str | None
    timestamp: Any
    session_id: str | None
    run_id: str | None
    correlation_id: str | None
    summary: StateRow | None


def decode(stored: Sequence[tuple[int, StoredEvent]]) -> list[Decoded]:
    from adapters.persistence.mapper import EventRow, PydanticMapper

    mapper = PydanticMapper(transcoder=JSONTranscoder())
    decoded = []
    for position, event in stored:
        row = mapper.to_stored_event(mapper.to_domain_event(event))
        assert isinstance(row, EventRow)
        assert row.event_id is not None
        decoded.append(
            Decoded(
                position,
                row.event_id,
                row.type,
                row.timestamp,
                row.session_id,
                row.run_id,
                row.correlation_id,
                row.summary,
            )
        )
    return decoded


def number(decoded: Sequence[Decoded], last: dict[str, int], taken: set[str]) -> list[Any]:
    """Envelope columns with the next dense seq of each session (`last` is updated), and an
    event id already taken renamed `<id>#<position>` as the old timeline did."""
    numbered = []
    for d in decoded:
        seq = None
        if d.session_id is not None and d.type is not None:
            seq = last.get(d.session_id, 0) + 1
            last[d.session_id] = seq
        event_id = d.event_id if d.event_id not in taken else f"{d.event_id}#{d.position}"
        taken.add(event_id)
        numbered.append((d, event_id, seq))
    return numbered


def with_payload(state: bytes, payload: dict[str, Any]) -> bytes:
    """The stored JSON of an event with its payload replaced. The previous release stored
    `system.*` payloads as `{}` in the log (their declared fields were not serialised) while
    its timeline row kept them: the upgrade puts them back into the log."""
    document = json.loads(state)
    document["payload"] = payload
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def upgrade_postgres(connection: Connection[Any], schema: str, table: str) -> None:
    """Give an events table of the previous release its envelope columns and fill them:
    from the old timeline table where it has the event (same seq, same event id), else
    decoded from the stored event with the next seq of its session. Then the old timeline
    table and its tracking are dropped. One transaction; idempotent."""
    qualified = f'"{schema}"."{table}"'
    with connection.transaction():
        found = connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (schema, table),
        ).fetchall()
        columns = {next(iter(r.values())) if isinstance(r, dict) else r[0] for r in found}
        if not columns or "seq" in columns:
            return
        types = {"timestamp": "timestamptz", "seq": "bigint"}
        for column in ENVELOPE_COLUMNS:
            connection.execute(
                f"ALTER TABLE {qualified} ADD COLUMN IF NOT EXISTS {column} "
                f"{types.get(column, 'text')}"
            )
        old = connection.execute("SELECT to_regclass(%s) AS t", (f'"{schema}".{OLD_TIMELINE}',))
        row = old.fetchone()
        has_old = bool(row and (row["t"] if isinstance(row, dict) else row[0]))
        if has_old:
            connection.execute(
                f"UPDATE {qualified} AS e SET event_id = o.event_id, type = o.type, "
                "timestamp = o.timestamp, session_id = o.session_id, seq = o.seq, "
                "run_id = o.run_id, correlation_id = o.correlation_id "
                f'FROM "{schema}".{OLD_TIMELINE} AS o WHERE e.notification_id = o.position'
            )
        if has_old:
            restore = connection.execute(
                f"SELECT e.notification_id, e.state, o.payload FROM {qualified} AS e "
                f'JOIN "{schema}".{OLD_TIMELINE} AS o ON e.notification_id = o.position '
                "WHERE o.type LIKE 'system.%'"
            ).fetchall()
            for position, state, payload in values(restore):
                connection.execute(
                    f"UPDATE {qualified} SET state = %s WHERE notification_id = %s",
                    (with_payload(bytes(state), payload), position),
                )
        _fill_postgres(connection, schema, qualified)
        if has_old:
            connection.execute(f'DROP TABLE "{schema}".{OLD_TIMELINE}')
            connection.execute(f'DROP TABLE IF EXISTS "{schema}".projection_tracking')


def values(rows: Any) -> list[tuple[Any, ...]]:
    """Rows as tuples, whether the connection returns dicts (the library's) or tuples."""
    return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]


def _fill_postgres(connection: Connection[Any], schema: str, qualified: str) -> None:
    last = dict(
        values(
            connection.execute(
                f"SELECT session_id, MAX(seq) FROM {qualified} "
                "WHERE seq IS NOT NULL GROUP BY session_id"
            ).fetchall()
        )
    )
    pending = values(
        connection.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {qualified} WHERE event_id IS NULL ORDER BY notification_id"
        ).fetchall()
    )
    if not pending:
        return
    stored = [(p, StoredEvent(o, v, t, bytes(s))) for p, o, v, t, s in pending]
    decoded = decode(stored)
    wanted = [d.event_id for d in decoded]
    taken = {
        r[0]
        for r in values(
            connection.execute(
                f"SELECT event_id FROM {qualified} WHERE event_id = ANY(%s)", (wanted,)
            ).fetchall()
        )
    }
    sql = PostgresSql(schema, qualified.split(".")[1].strip('"'))
    with connection.cursor() as cursor:
        for d, event_id, seq in number(decoded, last, taken):
            cursor.execute(
                f"UPDATE {qualified} SET event_id = %s, type = %s, timestamp = %s, "
                "session_id = %s, seq = %s, run_id = %s, correlation_id = %s "
                "WHERE notification_id = %s",
                (event_id, d.type, d.timestamp, d.session_id, seq, d.run_id, d.correlation_id,
                 d.position),
            )  # fmt: skip
            if d.summary is not None:
                cursor.execute(sql.merge_state(), summary_params(d.summary, d.position))


def upgrade_sqlite(cursor: sqlite3.Cursor, table: str) -> None:
    """The same upgrade for the embedded store (inside the caller's transaction)."""
    columns = {r[1] for r in cursor.execute(f"PRAGMA table_info({table})").fetchall()}
    if not columns or "seq" in columns:
        return
    for column in ENVELOPE_COLUMNS:
        cursor.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
    has_old = cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (OLD_TIMELINE,)
    ).fetchone()
    if has_old:
        cursor.execute(
            f"UPDATE {table} AS e SET event_id = o.event_id, type = o.type, "
            "timestamp = o.timestamp, session_id = o.session_id, seq = o.seq, "
            "run_id = o.run_id, correlation_id = o.correlation_id "
            f"FROM {OLD_TIMELINE} AS o WHERE e.rowid = o.position"
        )
        restore = cursor.execute(
            f"SELECT e.rowid, e.state, o.payload FROM {table} AS e JOIN {OLD_TIMELINE} AS o "
            "ON e.rowid = o.position WHERE o.type LIKE 'system.%'"
        ).fetchall()
        for position, state, payload in restore:
            cursor.execute(
                f"UPDATE {table} SET state = ? WHERE rowid = ?",
                (with_payload(state, json.loads(payload)), position),
            )
    last = dict(
        cursor.execute(
            f"SELECT session_id, MAX(seq) FROM {table} WHERE seq IS NOT NULL GROUP BY session_id"
        ).fetchall()
    )
    pending = cursor.execute(
        "SELECT rowid, originator_id, originator_version, topic, state "
        f"FROM {table} WHERE event_id IS NULL ORDER BY rowid"
    ).fetchall()
    if pending:
        from uuid import UUID

        decoded = decode([(p, StoredEvent(UUID(o), v, t, s)) for p, o, v, t, s in pending])
        taken = {
            r[0]
            for d in decoded
            for r in cursor.execute(
                f"SELECT event_id FROM {table} WHERE event_id = ?", (d.event_id,)
            ).fetchall()
        }
        merge = SQLiteSql(table).merge_state()
        for d, event_id, seq in number(decoded, last, taken):
            cursor.execute(
                f"UPDATE {table} SET event_id = ?, type = ?, timestamp = ?, session_id = ?, "
                "seq = ?, run_id = ?, correlation_id = ? WHERE rowid = ?",
                (event_id, d.type, d.timestamp.isoformat() if d.timestamp else None,
                 d.session_id, seq, d.run_id, d.correlation_id, d.position),
            )  # fmt: skip
            if d.summary is not None:
                cursor.execute(merge, summary_params(d.summary, d.position, sqlite=True))
    if has_old:
        cursor.execute(f"DROP TABLE {OLD_TIMELINE}")
        cursor.execute("DROP TABLE IF EXISTS projection_tracking")
