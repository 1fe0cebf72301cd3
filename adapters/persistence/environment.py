"""The library environment for each store setting (memory, SQLite file, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from psycopg.conninfo import conninfo_to_dict

MAPPER_TOPIC = "adapters.persistence.mapper:PydanticMapper"
RECORDERS = "adapters.persistence.recorders"
STORE_TIMEOUT_SECONDS = 3
StoreKind = Literal["memory", "sqlite", "postgres"]


def library_env(
    store: StoreKind,
    *,
    sqlite_path: Path | None = None,
    postgres_dsn: str | None = None,
    postgres_schema: str = "zakops_core",
    pool_size: int = 5,
    create_tables: bool = True,
    cache_size: int = 1000,
    cache_bytes: int = 64 * 1024 * 1024,
) -> dict[str, str]:
    """Settings as the eventsourcing library reads them (PERSISTENCE_MODULE, ...)."""
    env = {
        "MAPPER_TOPIC": MAPPER_TOPIC,
        "CREATE_TABLE": "y" if create_tables else "n",
        "AGGREGATE_CACHE_MAXSIZE": str(cache_size),
        "AGGREGATE_CACHE_MAXBYTES": str(cache_bytes),  # see application/cache.py
        # Saved aggregates stay in the cache; a command on a stale copy (another process
        # wrote since) fails on the store's version check and reloads (see EventStore).
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }
    if store == "memory":
        return {**env, "PERSISTENCE_MODULE": f"{RECORDERS}:EnvelopePOPOFactory"}
    if store == "sqlite":
        if sqlite_path is None:
            raise ValueError("sqlite_path is required for the sqlite store")
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return {
            **env,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": f"{RECORDERS}:EnvelopeSQLiteRecorder",
            "SQLITE_DBNAME": str(sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    if postgres_dsn is None:
        raise ValueError("postgres_dsn is required for the postgres store")
    parts = conninfo_to_dict(postgres_dsn)
    return {
        **env,
        "PERSISTENCE_MODULE": "adapters.persistence.postgres:DsnPostgresFactory",
        "POSTGRES_CONNINFO": postgres_dsn,  # every parameter, not only the five below
        "APPLICATION_RECORDER_TOPIC": f"{RECORDERS}:EnvelopePostgresRecorder",
        "POSTGRES_DBNAME": str(parts.get("dbname", "postgres")),
        "POSTGRES_HOST": str(parts.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(parts.get("port", "5432")),
        "POSTGRES_USER": str(parts.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(parts.get("password", "")),
        "POSTGRES_SCHEMA": postgres_schema,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size * 2),
        # Fail fast in an outage: connecting, and waiting for a pooled connection, give up
        # after a few seconds; pooled connections are checked before use.
        "POSTGRES_CONNECT_TIMEOUT": str(STORE_TIMEOUT_SECONDS),
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_LOCK_TIMEOUT": "10",
    }
