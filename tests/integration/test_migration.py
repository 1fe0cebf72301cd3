"""`zakops db init` upgrades a store written by the previous release (a0d5719, which kept a
separate timeline table) without losing or renumbering anything.

The stores in tests/fixtures/v1 were written by that release (see its README): 210 events,
207 of them in the old timeline, 3 that had not been projected yet, one snapshot.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from application.services.base import Origin
from entrypoints.container import Container, build, close, init_db
from entrypoints.settings import Settings
from tests.postgres import temporary_database

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v1"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
FIELDS = [
    "type",
    "event_id",
    "session_id",
    "seq",
    "run_id",
    "position",
    "correlation_id",
    "causation_id",
    "actor",
    "source",
    "schema_version",
    "payload",
    "timestamp",
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    if request.param == "sqlite":
        copy = tmp_path / "store.sqlite"
        shutil.copyfile(FIXTURES / "store.sqlite", copy)
        yield "sqlite", Settings(store="sqlite", sqlite_path=copy, _env_file=None)
        return
    with temporary_database("zakops_migrate") as dsn:
        subprocess.run(
            [
                "psql",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                dsn,
                "-f",
                str(FIXTURES / "store_postgres.sql"),
            ],
            check=True,
            capture_output=True,
        )
        yield (
            "postgres",
            Settings(
                store="postgres",
                postgres_dsn=SecretStr(dsn),
                postgres_schema="zakops_core",
                _env_file=None,
            ),
        )


def migrated(settings: Settings) -> Container:
    app = build(settings)
    init_db(app)
    return app


def shown(envelope: Any) -> dict[str, Any]:
    data = envelope.model_dump(mode="json")
    out = {f: data[f] for f in FIELDS}
    out["timestamp"] = datetime.fromisoformat(data["timestamp"])
    return out


def normalised(expected: dict[str, Any]) -> dict[str, Any]:
    out = {f: expected[f] for f in FIELDS}
    out["timestamp"] = datetime.fromisoformat(expected["timestamp"])
    return out


def test_upgrade_keeps_every_envelope_and_seq(old_store: tuple[str, Settings]) -> None:
    kind, settings = old_store
    expected = EXPECTED["stores"][kind]
    app = migrated(settings)
    try:
        queries = app.queries()
        log = queries.get_events_after(0, 1000)
        lagging = {u["position"]: u["as_projected_by_v1"] for u in expected["unprojected"]}
        wanted = [normalised(e) for e in expected["log"]]
        wanted += [normalised(lagging[p]) for p in sorted(lagging)]
        for e in wanted:  # the log is the truth now: a lagging system event kept only {}
            if e["event_id"] == "lag-3-shutdown":
                e["payload"] = {}
        assert [shown(e) for e in log] == wanted
        assert queries.head() == expected["log_head"] == 210

        for session in EXPECTED["sessions"]:
            events = queries.get_events_by_session(session, limit=1000)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
        beta = queries.get_events_by_session("sess-beta", limit=1000)
        assert (beta[-1].event_id, beta[-1].seq) == ("lag-1-thinking", 17)

        # system payloads that the old log had lost come back from the old timeline
        startup = queries.get_events_after(0, 1)[0]
        assert startup.type == "system.startup"
        assert startup.payload == {"message": "zakops starting", "component": "api"}

        for kind, rows in expected["states"].items():
            listed = {s.key: s for s in queries.list_states(kind, limit=1000).items}
            assert {k: (r["status"], r["session_id"]) for k, r in rows.items()} == {
                k: (s.status, s.session_id) for k, s in listed.items()
            }

        # writes continue the numbering; old client ids are still answered with the original
        after = app.sessions().record("sess-alpha", "custom.after_upgrade", {"ok": True})
        assert after.events[0].seq == 28
        assert after.events[0].position == 211
        again = app.sessions().record(
            "sess-alpha",
            "custom.note",
            note_payload(expected),
            origin=Origin("client-alpha-note-1"),
        )
        assert not again.written
        assert again.events[0].event_id == "client-alpha-note-1"
        assert app.runs().get_run("run-gamma-long").version == 112  # from its old snapshot
    finally:
        close(app)

    again_app = migrated(settings)  # idempotent: a second init changes nothing
    try:
        assert [shown(e) for e in again_app.queries().get_events_after(0, 1000)][:210] == wanted
    finally:
        close(again_app)


def note_payload(expected: dict[str, Any]) -> dict[str, Any]:
    note = next(e for e in expected["log"] if e["event_id"] == "client-alpha-note-1")
    payload: dict[str, Any] = note["payload"]
    return payload
