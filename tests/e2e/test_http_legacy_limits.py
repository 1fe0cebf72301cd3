"""Legacy-bounded fields at the edge, and parked projection events as an operator sees them.

Names the legacy tables hold in varchar(64) are refused over 64 characters on every store and
every face (422 naming the limit, nothing stored); free text is accepted and projected
bounded (tests/integration/test_legacy_poison.py). An event the projection parks makes
`/readyz` degraded, shows in the metrics, and is written again by the operator's retry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from domain import payloads as p
from domain.errors import InvalidInput
from domain.model import EventMeta
from domain.run import Run
from entrypoints.asgi import create_app
from entrypoints.container import Container, build, close, init_db
from entrypoints.settings import Settings
from tests.e2e.conftest import KEYS, OP, R, W, total
from tests.legacy import create_legacy_tables
from tests.postgres import temporary_database

LONG, FITS = "n" * 65, "n" * 64


def refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == field
    assert "64" in problem["reason"], problem  # names the limit


def test_legacy_names_over_64_are_refused_at_the_http_edge(client: TestClient) -> None:
    created = client.post(
        "/api/sessions/s-1/runs", json={"run_id": "r-1", "agent": FITS}, headers=W
    )
    assert created.status_code == 201, created.text
    client.post("/api/runs/r-1/start", json={}, headers=W)
    client.post("/api/actions", json={"action_id": "A-1", "action_type": "email"}, headers=W)
    before = total(client)
    attempts = [
        ("/api/sessions/s-1/runs", {"run_id": "r-2", "agent": LONG}, "payload.agent"),
        ("/api/runs/r-1/fail", {"error": "boom", "error_code": LONG}, "payload.error_code"),
        ("/api/actions/A-1/approve", {"by": LONG}, "payload.approved_by"),
        ("/api/actions/A-1/reject", {"by": LONG}, "payload.rejected_by"),
        (
            "/api/events",
            {
                "type": "run_created",
                "session_id": "s-3",
                "run_id": "r-3",
                "payload": {"agent": LONG},
            },
            "payload.agent",
        ),
    ]
    for path, body, field in attempts:
        refused(client.post(path, json=body, headers=W), field)
    assert total(client) == before  # nothing stored
    failed = client.post(
        "/api/runs/r-1/fail", json={"error": "boom", "error_code": FITS}, headers=W
    )
    assert failed.status_code == 201, failed.text


def test_legacy_names_over_64_are_refused_by_the_python_api(app: Container) -> None:
    app.runs().create_run("s-1", "r-1")
    app.actions().create_action("A-1", "email")
    before = app.store().head()
    with pytest.raises(InvalidInput, match="64"):
        app.runs().create_run("s-1", "r-2", agent=LONG)
    with pytest.raises(InvalidInput, match="64"):
        app.actions().approve("A-1", approved_by=LONG)
    assert app.store().head() == before


def test_legacy_names_over_64_are_refused_by_the_cli(http_settings: Settings) -> None:
    from adapters.cli.app import make_cli
    from entrypoints.cli import hooks

    cli = make_cli(hooks())
    if http_settings.store == "postgres":
        store = ["--dsn", http_settings.dsn()]
    else:
        store = ["--store", "sqlite", "--sqlite-path", str(http_settings.sqlite_path)]
    env = {"ZAKOPS_POSTGRES_SCHEMA": http_settings.postgres_schema, "COLUMNS": "200"}
    runner = CliRunner()
    created = runner.invoke(cli, [*store, "emit", "action.created", "--payload",
                                  '{"action_id": "A-1", "action_type": "x"}'], env=env)  # fmt: skip
    assert created.exit_code == 0, created.output
    result = runner.invoke(cli, [*store, "actions", "approve", "A-1", "--actor", LONG], env=env)
    assert result.exit_code == 2, result.output
    assert "approved_by" in result.output and "64" in result.output


# --- a parked event, as an operator sees it over HTTP ---------------------------------------
@pytest.fixture
def legacy_dsn() -> Iterator[str]:
    with temporary_database("zakops_http_parked") as url:
        create_legacy_tables(url)
        yield url


def poison(settings: Settings) -> None:
    """An event stored past the edge (as an older release could have), in its own process."""
    writer = build(settings)
    init_db(writer)
    try:
        run = Run.create(
            EventMeta(event_id="bad", session_id="s-bad", run_id="r-bad"),
            writer.clock().now(),
            p.RunCreatedPayload.model_construct(agent=LONG),
        )
        writer.store().save(run)
    finally:
        close(writer)


def wait_for(client: TestClient, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        body: dict[str, Any] = client.get("/readyz").json()
        if body["status"] == status or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


@pytest.mark.postgres
def test_readyz_metrics_and_the_retry_route(legacy_dsn: str, tmp_path: Path) -> None:
    settings = Settings(
        store="sqlite",
        sqlite_path=tmp_path / "zakops.sqlite",
        legacy_dsn=SecretStr(legacy_dsn),
        api_keys=SecretStr(KEYS),
        data_dir=tmp_path / "data",
        _env_file=None,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert (
            client.post("/api/sessions/s-1/runs", json={"run_id": "r-1"}, headers=W).status_code
            == 201
        )
        assert wait_for(client, "ready")["projections"]["legacy"]["parked"] == 0
        poison(settings)
        client.post("/api/runs/r-1/start", json={}, headers=W)  # after the bad one: still lands
        ready = wait_for(client, "degraded")
        assert ready["status"] == "degraded", ready
        assert ready["projections"]["legacy"]["parked"] == 1
        assert "legacy: 1" in ready["detail"] and "retry" in ready["detail"]
        assert client.get("/readyz").status_code == 200  # writes and reads still work
        metrics = client.get("/metrics", headers=OP).text
        assert 'zakops_projection_parked_events{projection="legacy"} 1.0' in metrics
        assert client.post("/api/admin/projections/legacy/retry", headers=W).status_code == 403
        assert client.post("/api/admin/projections/nope/retry", headers=OP).status_code == 404
        still = client.post("/api/admin/projections/legacy/retry", headers=OP)
        assert still.json() == {"name": "legacy", "written": 0, "still_parked": 1}
        with psycopg.connect(legacy_dsn, autocommit=True) as connection:
            connection.execute(
                "ALTER TABLE zakops.agent_runs ALTER COLUMN assistant_id TYPE varchar(100)"
            )
        fixed = client.post("/api/admin/projections/legacy/retry", headers=OP)
        assert fixed.json() == {"name": "legacy", "written": 1, "still_parked": 0}
        assert wait_for(client, "ready")["projections"]["legacy"]["parked"] == 0
        assert client.get("/api/runs/r-1", headers=R).status_code == 200
    with psycopg.connect(legacy_dsn) as connection:
        ids = {row[0] for row in connection.execute("SELECT event_id FROM zakops.agent_events")}
    assert "bad" in ids and len(ids) == 3


@pytest.mark.postgres
def test_cli_status_lists_parked_events_and_retry_writes_them(
    legacy_dsn: str, tmp_path: Path
) -> None:
    from adapters.cli.app import make_cli
    from entrypoints.cli import hooks

    cli = make_cli(hooks())
    path = tmp_path / "zakops.sqlite"
    poison(Settings(store="sqlite", sqlite_path=path, _env_file=None))
    store = ["--store", "sqlite", "--sqlite-path", str(path)]
    env = {"ZAKOPS_LEGACY_DSN": legacy_dsn, "ZAKOPS_DATA_DIR": str(tmp_path), "COLUMNS": "250"}
    runner = CliRunner()

    def zakops(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, [*store, *args], env=env)
        assert result.exit_code == code, (args, result.output)
        return result.output

    zakops("emit", "run_started", "--session", "s-bad", "--run", "r-bad")
    zakops("projections", "run", "legacy", "--once")
    status = json.loads(zakops("projections", "status", "--json", code=1))
    assert status["projections"][0]["parked"] == 1
    [letter] = status["parked"]
    assert (letter["event_id"], letter["position"], letter["attempts"]) == ("bad", 1, 1)
    assert "value too long" in letter["error"] and letter["parked_at"]
    shown = zakops("projections", "status", code=1)
    assert "parked events" in shown and "bad" in shown and "value too long" in shown
    assert "0 written, 1 still parked" in zakops("projections", "retry", "legacy", code=1)
    with psycopg.connect(legacy_dsn, autocommit=True) as connection:
        connection.execute("ALTER TABLE zakops.agent_runs ALTER COLUMN assistant_id TYPE text")
    retried = json.loads(zakops("projections", "retry", "legacy", "--json"))
    assert (retried["written"], retried["still_parked"]) == (1, 0)
    assert json.loads(zakops("projections", "status", "--json"))["parked"] == []
    zakops("projections", "retry", "nope", code=2)
