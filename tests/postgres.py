"""Throw-away PostgreSQL databases and schemas for tests (never rely on leftovers)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql

REQUIRE_POSTGRES = os.environ.get("ZAKOPS_REQUIRE_POSTGRES") == "1" or (
    os.environ.get("CI", "").lower() == "true"
)


def postgres_unavailable(reason: str) -> None:
    """Skip locally; fail when PostgreSQL is required."""
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required under CI but unavailable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


ADMIN_DSN = os.environ.get(
    "ZAKOPS_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def dsn_for(database: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_DSN)
    info["dbname"] = database
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})


@contextmanager
def temporary_database(prefix: str = "zakops_test") -> Iterator[str]:
    """Create a database with a unique name, yield its DSN, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        postgres_unavailable(str(error).strip().splitlines()[0])
        raise
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield dsn_for(name)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
