"""Where a chaos run keeps its stores and logs: a temporary folder, and (on first use) a
PostgreSQL cluster of its own on another port, which the scenarios may stop and kill. The
shared server on 5432 is never touched. Each scenario gets a fresh database or file."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Literal, TypeVar

import psycopg
from psycopg import sql
from pydantic import SecretStr

from entrypoints.settings import Settings
from tests.pgcluster import Cluster, own_cluster

Store = Literal["sqlite", "postgres"]
T = TypeVar("T")


class Workspace:
    def __init__(self, quick: bool, keep: bool = False) -> None:
        self.quick = quick
        self.root = Path(tempfile.mkdtemp(prefix="zakops-chaos-"))
        self.keep = keep  # leave the folder (logs, SQLite files) for a post-mortem
        self._stack = ExitStack()
        self._cluster: Cluster | None = None

    def pick(self, quick: T, full: T) -> T:
        """A size for this run: the quick one (CI) or the full one (`make chaos`)."""
        return quick if self.quick else full

    def cluster(self) -> Cluster:
        """The run's own PostgreSQL cluster, started on first use (fails or skips as the
        tests do when PostgreSQL cannot be had: tests/postgres.py)."""
        if self._cluster is None:
            self._cluster = self._stack.enter_context(own_cluster())
        return self._cluster

    def database(self, prefix: str) -> str:
        """A new, empty database on the run's cluster; its DSN."""
        cluster = self.cluster()
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(cluster.dsn, autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return cluster.dsn.rsplit("/", 1)[0] + f"/{name}"

    def folder(self, name: str) -> Path:
        path = self.root / f"{name}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        return path

    def settings(self, store: Store, name: str, legacy_dsn: str | None = None) -> Settings:
        """Settings of a fresh store for one scenario (`data_dir` holds its files)."""
        folder = self.folder(name)
        legacy = None if legacy_dsn is None else SecretStr(legacy_dsn)
        if store == "postgres":
            dsn = SecretStr(self.database(name.replace("-", "_")))
            return Settings(
                store="postgres",
                postgres_dsn=dsn,
                legacy_dsn=legacy,
                data_dir=folder,
                _env_file=None,
            )
        return Settings(
            store="sqlite",
            sqlite_path=folder / "zakops.sqlite",
            legacy_dsn=legacy,
            data_dir=folder,
            _env_file=None,
        )

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def close(self) -> None:
        self._stack.close()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
