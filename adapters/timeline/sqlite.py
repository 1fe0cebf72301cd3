"""Reads of the embedded SQLite store's events table (one connection per reading thread;
WAL lets them read while the store writes)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.timeline.sql import SqlTimelineView


class SQLiteTimelineView(SqlTimelineView):
    table = "stored_events"
    states_table = "aggregate_states"
    position = "rowid"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, isolation_level=None, timeout=30, check_same_thread=False
            )
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._connection().execute(sql, tuple(params)).fetchall()

    def to_db_time(self, value: datetime) -> Any:
        return value.isoformat()

    def from_db_time(self, value: Any) -> datetime:
        return datetime.fromisoformat(str(value))

    def from_db_json(self, value: Any) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(value)
        return loaded

    def close(self) -> None:
        with self._lock:
            for connection in self._all:
                connection.close()
            self._all.clear()
        self._local = threading.local()
