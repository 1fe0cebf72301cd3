"""Per-backend set-up: a temporary folder (SQLite) or a throw-away PostgreSQL database, with
a fresh, empty store for every measurement and the raw baseline next to it."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import sql
from pydantic import SecretStr

from bench.raw import ADMIN_DSN, RawPostgres, RawSQLite
from entrypoints.container import Container, build, close, init_db
from entrypoints.settings import Settings

Name = Literal["sqlite", "postgres"]
NAMES: tuple[Name, ...] = ("sqlite", "postgres")


@dataclass
class Backend:
    """One store kind. `folder` is temporary; `dsn` is a database of its own (postgres)."""

    name: Name
    folder: Path
    dsn: str | None = None
    _labels: int = field(default=0, init=False)

    def label(self, stem: str) -> str:
        """A new storage name: an SQLite file stem or a PostgreSQL schema."""
        self._labels += 1
        return f"{stem}_{self._labels}"

    def settings(self, stem: str) -> Settings:
        """Settings of a new, empty store."""
        label = self.label(stem)
        return Settings(
            store=self.name,
            sqlite_path=self.folder / f"{label}.sqlite",
            postgres_dsn=None if self.dsn is None else SecretStr(self.dsn),
            postgres_schema=label,
            data_dir=self.folder / "data",
            _env_file=None,
        )

    @contextmanager
    def raw(self, stem: str, payload_bytes: int = 200) -> Iterator[RawPostgres | RawSQLite]:
        """The raw baseline in new storage of its own, deleted afterwards."""
        label = self.label(f"raw_{stem}")
        raw: RawPostgres | RawSQLite
        if self.dsn is None:
            raw = RawSQLite(self.folder / f"{label}.sqlite", payload_bytes)
        else:
            raw = RawPostgres(self.dsn, label, payload_bytes)
        try:
            yield raw
        finally:
            raw.close()


@contextmanager
def open_backend(name: Name) -> Iterator[Backend]:
    """The backend with its temporary folder (and database), removed on exit."""
    with tempfile.TemporaryDirectory(prefix="zakops-bench-") as folder:
        if name == "sqlite":
            yield Backend(name, Path(folder))
            return
        database = f"zakops_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        try:
            yield Backend(name, Path(folder), f"postgresql://postgres@127.0.0.1:5432/{database}")
        finally:
            with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(database)
                    )
                )


@contextmanager
def container_for(settings: Settings) -> Iterator[Container]:
    container = build(settings)
    init_db(container)
    try:
        yield container
    finally:
        close(container)


@contextmanager
def fresh_app(backend: Backend, stem: str) -> Iterator[Container]:
    """Our application on a new, empty store of this backend."""
    with container_for(backend.settings(stem)) as app:
        yield app
