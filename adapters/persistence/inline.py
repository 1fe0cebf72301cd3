"""Application recorders that let the timeline write in the same transaction as the events.

An *inline* projection (Marten's word for it): when a save carries `inline=<hook>` and the
timeline is caught up, the hook writes the envelopes, their `seq`, the summaries and the
tracking position with the events themselves, so a command costs one commit instead of two
and its `seq` is known when the events are. When the timeline is behind, the hook writes
nothing and the projection catches up from the log as usual. The recorders are otherwise
the library's own (they pass its reusable test cases).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.sql import SQL, Identifier


class InlineHook(Protocol):
    def __call__(self, cursor: Any, ids: Sequence[int], previous: int) -> None:
        """Write the projection of these notification ids; `previous` is the id of the
        newest notification before them (0 for none)."""


class InlinePostgresRecorder(PostgresApplicationRecorder):
    def _fetch_ids_after_insert_events(
        self, curs: Cursor[Any], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        hook: InlineHook | None = kwargs.get("inline")
        if hook is not None and ids:
            curs.execute(
                SQL("SELECT COALESCE(MAX(notification_id), 0) AS previous FROM {}.{} "
                    "WHERE notification_id < %s").format(
                    Identifier(self.datastore.schema), Identifier(self.events_table_name)
                ),
                (ids[0],),
            )  # fmt: skip
            row = curs.fetchone()
            hook(curs, ids, int(row["previous"]) if row else 0)
        return ids


class InlineSQLiteRecorder(SQLiteApplicationRecorder):
    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        hook: InlineHook | None = kwargs.get("inline")
        if hook is not None and ids:
            c.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {self.events_table_name} "
                      "WHERE rowid < ?", (ids[0],))  # fmt: skip
            hook(c.sqlite_cursor, ids, int(c.fetchone()[0]))
        return ids


class InlinePOPORecorder(POPOApplicationRecorder):
    def _update_table(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._update_table(stored_events, **kwargs)
        hook: InlineHook | None = kwargs.get("inline")
        if hook is not None and ids:
            hook(None, ids, ids[0] - 1)  # in memory, ids are dense
        return ids


class InlinePOPOFactory(POPOFactory):
    """The in-memory factory, with the inline-capable recorder (it takes no recorder topic)."""

    def application_recorder(self) -> ApplicationRecorder:
        return InlinePOPORecorder()
