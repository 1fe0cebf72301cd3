"""Reads of the PostgreSQL store's events table, through the store's own connection pool."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import tuple_row
from psycopg.sql import SQL

from adapters.timeline.sql import SqlTimelineView


class PostgresTimelineView(SqlTimelineView):
    position = "notification_id"

    def __init__(self, datastore: PostgresDatastore, table: str) -> None:
        self.datastore = datastore
        self.table = f'"{datastore.schema}"."{table}"'
        self.states_table = f'"{datastore.schema}".aggregate_states'

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with (
            self.datastore.get_connection() as connection,
            connection.cursor(row_factory=tuple_row) as cursor,
        ):
            cursor.execute(SQL(sql.replace("?", "%s")), tuple(params), prepare=True)
            return cursor.fetchall()

    def to_db_time(self, value: datetime) -> Any:
        return value

    def from_db_time(self, value: Any) -> datetime:
        assert isinstance(value, datetime)
        return value

    def from_db_json(self, value: Any) -> dict[str, Any]:
        assert isinstance(value, dict)
        return value
