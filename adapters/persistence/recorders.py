"""The library's application recorders, writing one row per event with its envelope columns.

Each stored event (an `EventRow` from our mapper) goes into the library's own events table,
in the library's own INSERT transaction, with the columns that reads need beside the
library's: `event_id` (unique), `type`, `timestamp`, `session_id`, `seq`, `run_id`,
`correlation_id`. `seq` is dense per session and assigned in that transaction, from the
session's last `seq` (PostgreSQL holds its table lock there; SQLite its write lock). The
state summaries behind the listings are upserted in the same transaction. So the log *is*
the timeline: nothing the store accepted can be refused later by a read model, and there is
nothing to rebuild.

A save may pass `written=<list>`: the recorder fills it with the envelopes of the stored
events (with `position` and `seq`, None for internal events), so a command answers without
reading anything back.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Connection
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed

from adapters.persistence import schema
from adapters.persistence.mapper import EventRow
from adapters.timeline.memory import MemoryEventTable
from domain.envelope import Envelope

Written = list[Envelope | None]


@contextmanager
def initialising(datastore: PostgresDatastore) -> Iterator[Connection[Any]]:
    """Hold the initialisers' advisory lock (one process at a time creates or upgrades
    tables: concurrent `CREATE ... IF NOT EXISTS` race on the catalogue's unique indexes)."""
    with datastore.get_connection() as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (schema.INIT_LOCK,))
        try:
            yield connection
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (schema.INIT_LOCK,))


def _rows(stored_events: Sequence[StoredEvent]) -> list[EventRow]:
    """Our mapper's rows as they are; a plain stored event (the library's own mapper, as in
    its reusable test cases) gets empty envelope columns: it is stored, but in no timeline."""
    return [
        s
        if isinstance(s, EventRow)
        else EventRow(s.originator_id, s.originator_version, s.topic, s.state, event_id=None)
        for s in stored_events
    ]


def _fill(written: Written | None, rows: Sequence[EventRow], numbers: Sequence[Any]) -> None:
    if written is not None:
        written[:] = [row.envelope(p, s) for row, (p, s) in zip(rows, numbers, strict=True)]


class EnvelopePostgresRecorder(PostgresApplicationRecorder):
    """One call of our append function per save: a single round trip and a single-statement
    transaction, doing what the library's recorder does in five (table lock, NOTIFY, INSERT,
    commit) plus the seq and the state summaries."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        # the server processes (backend pids) of this process's appends: their NOTIFYs tell
        # this process nothing that its own commits did not (adapters/live/notify.py)
        self.own_backends: set[int] = set()
        self.sql = schema.PostgresSql(datastore.schema, events_table_name)
        statements = self.sql_create_statements
        statements[self.create_table_statement_index] = Composed([SQL(self.sql.create_table())])
        statements.extend(Composed([SQL(s)]) for s in self.sql.create_indexes())
        function = self.sql.append_function(datastore.lock_timeout, self.channel_name)
        statements.append(Composed([SQL(function)]))
        self.append = SQL(self.sql.call())

    def create_table(self) -> None:
        # One initialiser at a time across processes (the library's CREATE ... IF NOT EXISTS
        # statements race otherwise); an older table gets its envelope columns first.
        with initialising(self.datastore) as connection:
            schema.upgrade_postgres(connection, self.datastore.schema, self.events_table_name)
            super().create_table()

    # The library retries each call ten times, 0.2 s apart, each attempt waiting up to the
    # pool timeout: in an outage a request hung for tens of seconds. Connections are checked
    # on checkout (POSTGRES_PRE_PING), so a connection that a restart broke is replaced
    # before use, and one attempt is enough: the caller answers 503 at once, and a client
    # that repeats a write with its key cannot write it twice.
    select_events = inspect.unwrap(PostgresApplicationRecorder.select_events)
    select_notifications = inspect.unwrap(PostgresApplicationRecorder.select_notifications)
    max_notification_id = inspect.unwrap(PostgresApplicationRecorder.max_notification_id)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        rows = _rows(stored_events)
        params = schema.append_params(rows)
        with (
            self.datastore.get_connection() as connection,
            connection.cursor(row_factory=tuple_row) as cursor,
        ):
            self.own_backends.add(connection.info.backend_pid)  # before its NOTIFY can come
            cursor.execute(self.append, params, prepare=True)
            numbers = cursor.fetchall()
        if len(numbers) != len(rows):
            raise ProgrammingError(f"stored {len(rows)} events but got {len(numbers)} positions")
        _fill(kwargs.get("written"), rows, numbers)
        return [position for position, _ in numbers]


class EnvelopeSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self.sql = schema.SQLiteSql(events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        table = getattr(self, "events_table_name", "stored_events")
        return [*schema.SQLiteSql(table).create_statements()]

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            schema.upgrade_sqlite(c.sqlite_cursor, self.events_table_name)
        super().create_table()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        with self.datastore.transaction(commit=True) as c:
            return self._append(c, _rows(stored_events), kwargs.get("written"))

    def _append(self, c: SQLiteCursor, rows: list[EventRow], written: Written | None) -> list[int]:
        """The first INSERT takes SQLite's write lock and reads its session's last seq; the
        rest of the batch follows in one `executemany` with the positions and seqs that the
        lock makes certain (rowids continue from the first, no one else can write)."""
        cursor = c.sqlite_cursor
        params = [_sqlite_params(r) for r in rows]
        numbered = rows[0].session_id is not None and rows[0].type is not None
        cursor.execute(
            self.sql.insert_with_seq() if numbered else self.sql.insert_without_seq(), params[0]
        )
        first, first_seq = cursor.fetchone()
        numbers: list[tuple[int, int | None]] = [(int(first), first_seq)]
        if len(rows) > 1:
            last: dict[str, int] = {}
            if numbered:
                last[rows[0].session_id or ""] = int(first_seq)
            rest = []
            for index, (row, values) in enumerate(zip(rows[1:], params[1:], strict=True), 1):
                seq = None
                if row.session_id is not None and row.type is not None:
                    if row.session_id not in last:
                        last[row.session_id] = self._last_seq(cursor, row.session_id)
                    seq = last[row.session_id] = last[row.session_id] + 1
                numbers.append((int(first) + index, seq))
                rest.append((*values, seq))
            cursor.executemany(self.sql.insert_numbered(), rest)
            cursor.execute(f"SELECT MAX(rowid) FROM {self.events_table_name}")
            if cursor.fetchone()[0] != numbers[-1][0]:
                raise ProgrammingError("SQLite did not number the batch's rows in sequence")
        summaries = [
            schema.summary_params(row.summary, position, sqlite=True)
            for row, (position, _) in zip(rows, numbers, strict=True)
            if row.summary is not None
        ]
        if summaries:
            cursor.executemany(self.sql.merge_state(), summaries)
        _fill(written, rows, numbers)
        return [position for position, _ in numbers]

    def _last_seq(self, cursor: Any, session_id: str) -> int:
        cursor.execute(self.sql.last_seq(), (session_id,))
        found = cursor.fetchone()[0]
        return int(found or 0)


def _sqlite_params(r: EventRow) -> tuple[Any, ...]:
    values = r.columns()
    if isinstance(values[0], UUID):
        values[0] = values[0].hex  # the library's SQLite tables keep ids as hex text
    return tuple(values)


class EnvelopePOPORecorder(POPOApplicationRecorder):
    """In memory: the library's lists, plus the envelope table the reads use."""

    def __init__(self) -> None:
        super().__init__()
        self.table = MemoryEventTable()
        self._appending = threading.Lock()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        rows = _rows(stored_events)
        with self._appending:  # the event-id check, the library's insert and ours, together
            self.table.check_unique([r.event_id for r in rows if r.event_id is not None])
            ids = super().insert_events(stored_events, **kwargs) or []
            envelopes = self.table.append(rows, ids)
        written = kwargs.get("written")
        if written is not None:
            written[:] = envelopes
        return ids


class EnvelopePOPOFactory(POPOFactory):
    """The in-memory factory with our recorder (the POPO factory takes no recorder topic)."""

    def application_recorder(self) -> ApplicationRecorder:
        return EnvelopePOPORecorder()
