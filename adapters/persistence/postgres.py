"""PostgreSQL set-up the library leaves to us: the schema must exist before its tables, and
the whole DSN must reach its connections."""

from __future__ import annotations

import psycopg
from eventsourcing.persistence import AggregateRecorder
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from adapters.persistence.schema import INIT_LOCK


class DsnPostgresFactory(PostgresFactory):
    """The library's factory, connecting with our whole DSN.

    The library reads POSTGRES_DBNAME/HOST/PORT/USER/PASSWORD and hands only those to its pool
    as keyword arguments, so `sslmode`, `sslrootcert`, `sslcert`, `application_name`,
    `options`, `target_session_attrs`, ... would be dropped. The pool merges its keyword
    arguments over its conninfo, so giving the pool the DSN (POSTGRES_CONNINFO) as its
    conninfo keeps every other parameter; the five it reads come from the same DSN."""

    POSTGRES_CONNINFO = "POSTGRES_CONNINFO"

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        conninfo = self.env.get(self.POSTGRES_CONNINFO)
        if conninfo:
            self.datastore.pool.conninfo = conninfo  # not opened yet: every connection gets it

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        # The snapshots table too is created under the initialisers' lock: two processes
        # creating it at once collide on its row type in pg_type.
        from adapters.persistence.recorders import initialising

        with initialising(self.datastore):
            return super().aggregate_recorder(purpose)


class DatabaseMissing(ConnectionError):
    """The configured database does not exist and this role may not create it."""


def ensure_database(dsn: str) -> bool:
    """Create the DSN's database when it is missing and the role may (returns True when it
    did); otherwise raise `DatabaseMissing` saying how to create it."""
    try:
        psycopg.connect(dsn, autocommit=True, connect_timeout=5).close()
        return False
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error) or "database" not in str(error):
            raise
    info = conninfo_to_dict(dsn)
    name, role = str(info.get("dbname") or ""), str(info.get("user") or "")
    maintenance = make_conninfo(dsn, dbname="postgres")
    try:
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        return False  # created meanwhile by another process
    except (psycopg.errors.InsufficientPrivilege, psycopg.OperationalError) as error:
        how = f"createdb -O {role} {name}" if role else f"createdb {name}"
        raise DatabaseMissing(
            f"database {name!r} does not exist and this role may not create it "
            f"({type(error).__name__}); as a role that may, run: {how}"
        ) from None
    return True


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
