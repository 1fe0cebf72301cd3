"""PostgreSQL set-up the library leaves to us: the schema must exist before its tables."""

from __future__ import annotations

import psycopg
from psycopg import sql

from adapters.persistence.schema import INIT_LOCK


def ensure_schema(dsn: str, schema: str) -> None:
    """Create `schema` if missing (idempotent). Under the initialisers' advisory lock: two
    `CREATE SCHEMA IF NOT EXISTS` at once fail one of them on pg_namespace's unique index."""
    with (
        psycopg.connect(dsn, autocommit=True, connect_timeout=5) as connection,
        connection.transaction(),
    ):
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (INIT_LOCK,))
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def server_version(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"
