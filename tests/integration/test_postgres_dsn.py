"""Every parameter of ZAKOPS_POSTGRES_DSN reaches the event store's connections (issue 10,
item 9: the library's pool kept only host, port, user, password and dbname)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from pydantic import SecretStr

from adapters.persistence.recorders import EnvelopePostgresRecorder
from entrypoints.container import build, close, init_db
from entrypoints.settings import Settings

pytestmark = pytest.mark.postgres
PROBE = "zakops_dsn_probe"


def test_sslmode_application_name_and_options_reach_the_store_connections(
    pg_database: str, pg_schema: str
) -> None:
    dsn = make_conninfo(
        pg_database,
        application_name=PROBE,
        sslmode="disable",
        options="-c statement_timeout=12345",
    )
    settings = Settings(
        store="postgres", postgres_dsn=SecretStr(dsn), postgres_schema=pg_schema, _env_file=None
    )
    container = build(settings)
    init_db(container)
    try:
        written = container.sessions().record("s-dsn", "custom.note", {})
        assert [e.seq for e in written.events] == [1]
        recorder = container.store().recorder
        assert isinstance(recorder, EnvelopePostgresRecorder)
        with recorder.datastore.get_connection() as connection:
            assert connection.info.get_parameters()["sslmode"] == "disable"
            name = connection.execute("SHOW application_name").fetchone()
            timeout = connection.execute("SHOW statement_timeout").fetchone()
        assert name == {"application_name": PROBE}  # the library's rows are dicts
        assert timeout == {"statement_timeout": "12345ms"}
        with psycopg.connect(pg_database, autocommit=True) as admin:
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND datname = "
                "current_database()",
                (PROBE,),
            ).fetchone()
        assert row is not None and row[0] >= 1
    finally:
        close(container)
