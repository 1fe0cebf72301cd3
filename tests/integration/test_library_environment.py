"""The store takes its whole configuration from the composition root: variables that the
eventsourcing library would read from the process environment (a stray PERSISTENCE_MODULE,
a mapper topic, a table switch) change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from adapters.persistence.recorders import EnvelopePOPORecorder, EnvelopeSQLiteRecorder
from entrypoints.container import build, close, init_db
from entrypoints.settings import Settings

STRAY = {
    "PERSISTENCE_MODULE": "eventsourcing.postgres",  # would need a PostgreSQL it cannot reach
    "POSTGRES_HOST": "192.0.2.1",
    "MAPPER_TOPIC": "eventsourcing.persistence:Mapper",
    "IS_SNAPSHOTTING_ENABLED": "n",
    "CREATE_TABLE": "n",
    "ZAKOPS_IS_SNAPSHOTTING_ENABLED": "n",
}


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_stray_library_variables_are_ignored(
    store: Literal["memory", "sqlite"], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in STRAY.items():
        monkeypatch.setenv(name, value)
    settings = Settings(store=store, sqlite_path=tmp_path / "z.sqlite", _env_file=None)
    container = build(settings)
    try:
        init_db(container)
        store_app = container.store()
        expected = EnvelopeSQLiteRecorder if store == "sqlite" else EnvelopePOPORecorder
        assert type(store_app.recorder) is expected
        assert type(store_app.mapper).__name__ == "PydanticMapper"
        assert store_app.snapshots is not None  # snapshotting stays on
        written = container.sessions().record("s-env", "custom.tick", {"i": 1})
        assert [e.seq for e in written.events] == [1]  # tables exist: CREATE_TABLE=n ignored
    finally:
        close(container)
