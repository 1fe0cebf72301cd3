"""The legacy projection's dead letters: events it could not write, kept in our schema.

Which errors are the events' fault: PostgreSQL data exceptions (class 22: a value too long,
out of range, a NUL in jsonb), integrity violations (class 23: a CHECK, a foreign or unique
key) and values psycopg cannot adapt. Anything else (a lost connection, a pool timeout, a
missing table) is the database's fault and is retried, never parked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from adapters.legacy.sql import SCHEMA
from application.ports import DeadLetter

MAX_ERROR = 2000  # characters of an error message kept with a dead letter

PARKED_DDL = (
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.legacy_parked ("
    "name varchar(64) NOT NULL, position bigint NOT NULL, event_id varchar(100) NOT NULL, "
    "event_type varchar(100) NOT NULL, error text NOT NULL, "
    "parked_at timestamptz NOT NULL DEFAULT now(), attempts integer NOT NULL DEFAULT 1, "
    "last_attempt_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (name, position))"
)

PARK = (
    f"INSERT INTO {SCHEMA}.legacy_parked (name, position, event_id, event_type, error) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name, position) DO UPDATE SET "
    "error = excluded.error, attempts = legacy_parked.attempts + 1, last_attempt_at = now()"
)

KEEP = (
    f"UPDATE {SCHEMA}.legacy_parked SET error = %s, attempts = attempts + 1, "
    "last_attempt_at = now() WHERE name = %s AND position = %s"
)

UNPARK = f"DELETE FROM {SCHEMA}.legacy_parked WHERE name = %s AND position = %s"

LIST = (
    "SELECT name, position, event_id, event_type, error, parked_at, attempts, last_attempt_at "
    f"FROM {SCHEMA}.legacy_parked WHERE name = %s ORDER BY position"
)

COUNT = f"SELECT COUNT(*) FROM {SCHEMA}.legacy_parked WHERE name = %s"

CLEAR = f"DELETE FROM {SCHEMA}.legacy_parked WHERE name = %s"


def refused_by_data(error: BaseException) -> bool:
    """Whether `error` comes from the events' data rather than from the database's state."""
    if isinstance(error, psycopg.DataError | psycopg.IntegrityError):
        return True
    if isinstance(error, psycopg.ProgrammingError):
        return error.sqlstate is None  # raised by psycopg itself: a value it cannot adapt
    return isinstance(error, TypeError | ValueError | RecursionError)


def describe(error: BaseException) -> str:
    """The error as an operator reads it: SQLSTATE (when the server sent one) and message."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    state = getattr(error, "sqlstate", None)
    text = f"{state}: {first}" if state else f"{type(error).__name__}: {first}"
    for note in getattr(error, "__notes__", ()):
        text += f" ({note})"
    return text.replace("\x00", "\\u0000")[:MAX_ERROR]


def letter(row: tuple[Any, ...]) -> DeadLetter:
    name, position, event_id, type_name, error, parked_at, attempts, last = row
    at: datetime = parked_at
    return DeadLetter(name, int(position), event_id, type_name, error, at, int(attempts), last)
