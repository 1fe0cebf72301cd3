"""Shared fixtures: the application on each store (memory, SQLite file, PostgreSQL).

PostgreSQL tests skip when no server answers, except under CI (`CI=true` or
`ZAKOPS_REQUIRE_POSTGRES=1`), where an unreachable server fails them (tests/postgres.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from entrypoints.container import Container, build, close, init_db
from entrypoints.settings import Settings
from tests import app_variables
from tests.postgres import temporary_database

STORES = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    with temporary_database() as dsn:
        yield dsn


@pytest.fixture
def pg_schema(pg_database: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(pg_database, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


def settings_for(store: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if store == "postgres":
        dsn = request.getfixturevalue("pg_database")
        schema = request.getfixturevalue("pg_schema")
        return Settings(store="postgres", postgres_dsn=dsn, postgres_schema=schema, _env_file=None)
    if store == "sqlite":
        return Settings(store="sqlite", sqlite_path=tmp_path / "zakops.sqlite", _env_file=None)
    return Settings(store="memory", _env_file=None)


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return settings_for(store_kind, request, tmp_path)


@pytest.fixture
def app(settings: Settings) -> Iterator[Container]:
    container = build(settings)
    init_db(container)
    yield container
    close(container)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without app settings in the environment (tests/__init__.py cleared
    the shell's; this clears any a previous test left) and without a `.env` file."""
    for name in app_variables():
        monkeypatch.delenv(name)
    monkeypatch.setenv("ZAKOPS_ENV_FILE", "")
