"""The legacy projection's PostgreSQL side: rows in `zakops.*`, bookkeeping in our schema.

The old tables are never altered. What we need beside them lives in our own schema
(`zakops_projection`): the tracking position and the registry of rows this projection
created, so a rebuild removes exactly those and older software's rows stay untouched.
Every batch (its rows, the foreign-key rows they need, the registry and the position) is
one transaction, serialised across processes by an advisory lock. A batch refused for its
data raises `UnwritableEvents`; the event the projector then parks is stored in
`legacy_parked` in the same transaction as the tracking that moves past it (dead_letters.py).
The rows themselves are written by `LegacyRows` (rows.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from adapters.legacy import dead_letters as dl
from adapters.legacy import mapping as m
from adapters.legacy.rows import LegacyRows
from adapters.legacy.sql import BOOKKEEPING_DDL, SCHEMA
from application.legacy import LegacyItem, LegacyRecord
from application.ports import DeadLetter, ProjectionConflict, UnwritableEvents

LOCK_KEY = 0x7A4B_0002


class PostgresLegacyView:
    name = "legacy"

    def __init__(self, dsn: str, pool_size: int = 3) -> None:
        self.pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=max(2, pool_size),
            kwargs={"autocommit": True},
            open=True,
            timeout=10,
        )

    def create_tables(self) -> None:
        with self.pool.connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            for statement in (*BOOKKEEPING_DDL, dl.PARKED_DDL):
                connection.execute(statement)

    def position(self) -> int:
        with self.pool.connection() as connection:
            row = connection.execute(
                f"SELECT position FROM {SCHEMA}.legacy_tracking WHERE name = %s", (self.name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def commit(self, items: Sequence[LegacyItem], position: int, expected: int) -> None:
        with self._writing(), self.pool.connection() as connection, connection.transaction():
            cur = connection.cursor()
            self._expect(cur, expected)
            self._write(cur, items, replay=False)
            self._track(cur, position)

    def park(self, position: int, event_id: str, type_name: str, error: str, expected: int) -> None:
        with self.pool.connection() as connection, connection.transaction():
            cur = connection.cursor()
            self._expect(cur, expected)
            cur.execute(dl.PARK, (self.name, position, event_id[:100], type_name[:100], error))
            self._track(cur, position)

    def dead_letters(self) -> list[DeadLetter]:
        with self.pool.connection() as connection:
            return [dl.letter(row) for row in connection.execute(dl.LIST, (self.name,))]

    def parked_count(self) -> int:
        with self.pool.connection() as connection:
            row = connection.execute(dl.COUNT, (self.name,)).fetchone()
        return int(row[0]) if row else 0

    def replay(self, items: Sequence[LegacyItem], position: int) -> None:
        with self._writing(), self.pool.connection() as connection, connection.transaction():
            cur = connection.cursor()
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            self._write(cur, items, replay=True)
            cur.execute(dl.UNPARK, (self.name, position))

    def keep_parked(self, position: int, error: str) -> None:
        with self.pool.connection() as connection:
            connection.execute(dl.KEEP, (error, self.name, position))

    @staticmethod
    @contextmanager
    def _writing() -> Iterator[None]:
        """Errors caused by the events' data become `UnwritableEvents`; others propagate."""
        try:
            yield
        except Exception as error:
            if dl.refused_by_data(error):
                raise UnwritableEvents(dl.describe(error)) from error
            raise

    def _expect(self, cur: psycopg.Cursor[Any], expected: int) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        cur.execute(f"SELECT position FROM {SCHEMA}.legacy_tracking WHERE name = %s", (self.name,))
        found = cur.fetchone()
        current = int(found[0]) if found else 0
        if current != expected:
            raise ProjectionConflict(f"legacy tracking is at {current}, not {expected}")

    def _track(self, cur: psycopg.Cursor[Any], position: int) -> None:
        cur.execute(
            f"INSERT INTO {SCHEMA}.legacy_tracking (name, position) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (self.name, position),
        )

    @staticmethod
    def _write(cur: psycopg.Cursor[Any], items: Sequence[LegacyItem], replay: bool) -> None:
        rows = LegacyRows(cur, replay)
        rows.agent_events([i for i in items if m.to_agent_table(i.envelope)])
        rows.deal_events([i for i in items if not m.to_agent_table(i.envelope)])

    # -- rebuild and import --------------------------------------------------------------
    def reset(self) -> None:
        with self.pool.connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            connection.execute(
                f"DELETE FROM zakops.agent_events e USING {SCHEMA}.legacy_rows r "
                "WHERE r.table_name = 'agent_events' AND r.row_key = e.event_id"
            )
            connection.execute(
                f"DELETE FROM zakops.deal_events e USING {SCHEMA}.legacy_rows r "
                "WHERE r.table_name = 'deal_events' AND r.row_key = e.id::text"
            )
            connection.execute(
                f"DELETE FROM {SCHEMA}.legacy_rows "
                "WHERE table_name IN ('agent_events', 'deal_events')"
            )
            connection.execute(
                f"DELETE FROM {SCHEMA}.legacy_tracking WHERE name = %s", (self.name,)
            )
            connection.execute(dl.CLEAR, (self.name,))

    def foreign_history(self) -> Iterator[LegacyRecord]:
        """Rows older software wrote (not in our registry), oldest first."""
        with self.pool.connection() as connection:
            cur = connection.cursor(row_factory=dict_row)
            cur.execute(
                "SELECT e.* FROM zakops.agent_events e WHERE NOT EXISTS (SELECT 1 FROM "
                f"{SCHEMA}.legacy_rows r WHERE r.table_name = 'agent_events' "
                "AND r.row_key = e.event_id) ORDER BY e.created_at, e.id"
            )
            agent_rows = cur.fetchall()
            cur.execute(
                "SELECT e.* FROM zakops.deal_events e WHERE NOT EXISTS (SELECT 1 FROM "
                f"{SCHEMA}.legacy_rows r WHERE r.table_name = 'deal_events' "
                "AND r.row_key = e.id::text) ORDER BY e.created_at, e.sequence_number"
            )
            deal_rows = cur.fetchall()
        for row in agent_rows:
            yield _agent_record(row)
        for row in deal_rows:
            yield _deal_record(row)

    def close(self) -> None:
        self.pool.close()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _agent_record(row: dict[str, Any]) -> LegacyRecord:
    data = dict(row["event_data"] or {})
    if row.get("tool_call_id"):
        data.setdefault("tool_call_id", row["tool_call_id"])
    data["legacy"] = {
        "table": "agent_events",
        "id": row["id"],
        "event_type": row["event_type"],
        "sequence_number": row["sequence_number"],
    }
    return LegacyRecord(
        event_id=m.imported_id("agent", row["event_id"]),
        archive=f"agent:{row['thread_id']}",
        type=m.imported_agent_type(row["event_type"], data),
        occurred_at=row["created_at"],
        payload=data,
        session_id=row["thread_id"],
        run_id=row["run_id"],
        correlation_id=_text(row["correlation_id"]),
        causation_id=_text(row["causation_id"]),
    )


def _deal_record(row: dict[str, Any]) -> LegacyRecord:
    payload = dict(row["payload"] or {})
    payload["legacy"] = {
        "table": "deal_events",
        "id": str(row["id"]),
        "event_source": row["event_source"],
        "deal_id": row["deal_id"],
    }
    return LegacyRecord(
        event_id=m.imported_id("deal", str(row["id"])),
        archive=f"deal:{row['deal_id'] or '-'}",
        type=m.imported_deal_type(row["event_type"]),
        occurred_at=row["created_at"],
        payload=payload,
        correlation_id=(row["correlation_id"] or row["deal_id"]),
        causation_id=row["causation_id"],
        actor=row["actor"],
    )
