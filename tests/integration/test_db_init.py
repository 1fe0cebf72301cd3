"""`zakops db init` on a PostgreSQL database that does not exist yet: created when the role
may, else one message saying how (exit 3)."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from adapters.cli.app import make_cli
from entrypoints.cli import hooks
from tests.postgres import ADMIN_DSN, dsn_for, postgres_unavailable

pytestmark = pytest.mark.postgres
runner = CliRunner()


def admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        postgres_unavailable(str(error).strip().splitlines()[0])
        raise


def test_db_init_creates_a_missing_database() -> None:
    name = f"zakops_test_new_{uuid.uuid4().hex[:8]}"
    with admin():
        pass
    try:
        result = runner.invoke(make_cli(hooks()), ["--dsn", dsn_for(name), "db", "init"])
        assert result.exit_code == 0, result.output
        again = runner.invoke(make_cli(hooks()), ["--dsn", dsn_for(name), "db", "check"])
        assert again.exit_code == 0, again.output
    finally:
        with admin() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_a_role_that_may_not_create_it_is_told_how() -> None:
    name, role = f"zakops_test_new_{uuid.uuid4().hex[:8]}", f"zk_{uuid.uuid4().hex[:8]}"
    with admin() as connection:
        connection.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB").format(sql.Identifier(role)))
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn_for(name))
        info["user"] = role
        dsn = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})
        result = runner.invoke(make_cli(hooks()), ["--dsn", dsn, "db", "init"])
        if "password authentication failed" in result.output:
            pytest.skip("the test server does not trust a new role")
        assert result.exit_code == 3, result.output
        assert f"createdb -O {role} {name}" in result.output
    finally:
        with admin() as connection:
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
