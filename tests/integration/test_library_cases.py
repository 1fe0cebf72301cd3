"""The eventsourcing library's own reusable test cases, run with *our* configuration
(persistence settings, our mapper) on SQLite and PostgreSQL: an outside check that our
settings keep the library's guarantees."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

import psycopg
import pytest
from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory
from eventsourcing.tests.application import ExampleApplicationTestCase
from eventsourcing.tests.persistence import ApplicationRecorderTestCase
from eventsourcing.tests.projection import EventSourcedProjectionTestCase
from eventsourcing.utils import Environment
from psycopg import sql

from adapters.persistence.environment import library_env
from tests.postgres import temporary_database


class SQLiteConfig:
    env: ClassVar[dict[str, str]] = {}

    def setUp(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        path = Path(self._dir.name) / "lib.sqlite"
        type(self).env = {
            **library_env("sqlite", sqlite_path=path),
        }
        super().setUp()  # type: ignore[misc]  # cooperative with unittest.TestCase

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]  # cooperative with unittest.TestCase
        self._dir.cleanup()


@pytest.fixture(scope="module")
def pg_dsn() -> Iterator[str]:
    with temporary_database("zakops_lib") as dsn:
        yield dsn


class PostgresConfig:
    env: ClassVar[dict[str, str]] = {}
    dsn: ClassVar[str] = ""

    def setUp(self) -> None:
        self.schema = f"lib_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
        type(self).env = library_env("postgres", postgres_dsn=self.dsn, postgres_schema=self.schema)
        super().setUp()  # type: ignore[misc]  # cooperative with unittest.TestCase

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]  # cooperative with unittest.TestCase
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.schema))
            )


@pytest.fixture(autouse=True)
def _postgres_for(request: pytest.FixtureRequest) -> None:
    if request.cls is not None and issubclass(request.cls, PostgresConfig):
        request.cls.dsn = request.getfixturevalue("pg_dsn")


def recorder_from(env: dict[str, str]) -> ApplicationRecorder:
    return InfrastructureFactory.construct(Environment("zakops", env)).application_recorder()


class OurRecorder:
    env: ClassVar[dict[str, str]]

    def create_recorder(self) -> Any:
        return recorder_from(self.env)


class OurEnvironment:
    """The example application reads its persistence settings from os.environ."""

    env: ClassVar[dict[str, str]]

    def test_example_application(self) -> None:
        with mock.patch.dict(os.environ, self.env):
            super().test_example_application()  # type: ignore[misc]  # the library's test


class TestSQLiteRecorder(SQLiteConfig, OurRecorder, ApplicationRecorderTestCase[Any]):
    pass


class TestSQLiteApplication(SQLiteConfig, OurEnvironment, ExampleApplicationTestCase):
    expected_factory_topic = "eventsourcing.sqlite:SQLiteFactory"


# No SQLite projection case: the library's SQLite recorder does not support subscriptions
# (NotImplementedError), which its projection runner needs. Our timeline does not use them:
# it reads the notification log with select_notifications, which the recorder cases cover.


@pytest.mark.postgres
class TestPostgresRecorder(PostgresConfig, OurRecorder, ApplicationRecorderTestCase[Any]):
    pass


@pytest.mark.postgres
class TestPostgresApplication(PostgresConfig, OurEnvironment, ExampleApplicationTestCase):
    expected_factory_topic = "adapters.persistence.postgres:DsnPostgresFactory"


@pytest.mark.postgres
class TestPostgresProjection(PostgresConfig, EventSourcedProjectionTestCase):
    pass


del ApplicationRecorderTestCase, ExampleApplicationTestCase, EventSourcedProjectionTestCase
