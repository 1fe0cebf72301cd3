"""The legacy projection never stops on one event (issue 10).

An event the legacy tables cannot hold is parked (a dead letter with its error, position,
event id and time) while every other event of its batch lands; it is logged, counted in
the status, and written by `retry()` once the cause is fixed. The poisoned events are
written past the edge (domain objects with unvalidated payloads), as a store of an older
release may hold them: the edge refuses them now (tests/e2e/test_http_legacy_limits.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from pydantic import SecretStr

from application.legacy import LegacyProjector
from domain import payloads as p
from domain.action import Action
from domain.model import EventMeta
from domain.run import Run
from entrypoints.container import Container, build, close, init_db
from entrypoints.settings import Settings
from tests.integration.test_legacy import drive_deal, drive_run
from tests.legacy import create_legacy_tables
from tests.postgres import temporary_database

pytestmark = pytest.mark.postgres
AT = datetime(2026, 3, 1, 9, tzinfo=UTC)
LONG = "n" * 65  # one over the varchar(64) columns


@pytest.fixture
def dsn() -> Iterator[str]:
    with temporary_database("zakops_poison") as url:
        create_legacy_tables(url)
        yield url


def container(store: str, dsn: str, tmp_path: Path) -> Container:
    legacy_dsn = SecretStr(dsn)
    settings = (
        Settings(store="postgres", postgres_dsn=legacy_dsn, legacy_dsn=legacy_dsn, _env_file=None)
        if store == "postgres"
        else Settings(
            store="sqlite", sqlite_path=tmp_path / "z.sqlite", legacy_dsn=legacy_dsn, _env_file=None
        )
    )
    built = build(settings)
    init_db(built)
    return built


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, dsn: str, tmp_path: Path) -> Iterator[Container]:
    built = container(str(request.param), dsn, tmp_path)
    yield built
    close(built)


@pytest.fixture
def sqlite_app(dsn: str, tmp_path: Path) -> Iterator[Container]:
    built = container("sqlite", dsn, tmp_path)
    yield built
    close(built)


def legacy(app: Container) -> LegacyProjector:
    projector = app.legacy()
    assert projector is not None
    return projector


def rows(dsn: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as connection:
        return connection.execute(sql, params).fetchall()


def execute(dsn: str, sql: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(sql)


def meta(event_id: str, session: str | None = None, run: str | None = None) -> EventMeta:
    return EventMeta(event_id=event_id, session_id=session, run_id=run)


# --- the poison classes: each writes one bad event past the edge, returns its event id ------
def long_agent(app: Container) -> str:
    run = Run.create(
        meta("bad-agent", "s-bad", "r-bad"), AT, p.RunCreatedPayload.model_construct(agent=LONG)
    )
    run.start(meta("bad-agent-start"), AT, p.RunStartedPayload())
    app.store().save(run)
    return "bad-agent"


def long_error_code(app: Container) -> str:
    run = Run.create(meta("bad-code-created", "s-bad", "r-bad"), AT, p.RunCreatedPayload())
    run.start(meta("bad-code-start"), AT, p.RunStartedPayload())
    failed = p.RunFailedPayload.model_construct(error="boom", error_code=LONG)
    run.fail(meta("bad-code"), AT, failed)
    app.store().save(run)
    return "bad-code"


def long_reviewer(app: Container) -> str:
    action = Action.create(
        meta("bad-review-created"), AT, p.ActionCreatedPayload(action_id="A-9", action_type="x")
    )
    approved = p.ActionApprovedPayload.model_construct(action_id="A-9", approved_by=LONG)
    action.approve(meta("bad-review"), AT, approved)
    app.store().save(action)
    return "bad-review"


def nul_in_payload(app: Container) -> str:
    run = Run.create(meta("bad-nul-created", "s-bad", "r-bad"), AT, p.RunCreatedPayload())
    run.start(meta("bad-nul-start"), AT, p.RunStartedPayload())
    run.think(meta("bad-nul"), AT, p.ThinkingPayload.model_construct(content="a\x00b"))
    app.store().save(run)
    return "bad-nul"


@dataclass(frozen=True)
class Poison:
    write: Callable[[Container], str]
    error: str  # what the dead letter's error says
    fix: str | None  # SQL that removes the cause in the legacy database (None: none can)
    landed: str  # after the fix and retry: a query that returns one row


POISONS = {
    "agent over 64": Poison(
        long_agent,
        "22001: value too long for type character varying(64)",
        "ALTER TABLE zakops.agent_runs ALTER COLUMN assistant_id TYPE varchar(100)",
        # the run started meanwhile: the retried run_created does not move it back
        f"SELECT 1 FROM zakops.agent_runs WHERE assistant_id = '{LONG}' AND status = 'running'",
    ),
    "error_code over 64": Poison(
        long_error_code,
        "22001: value too long for type character varying(64)",
        "ALTER TABLE zakops.agent_runs ALTER COLUMN error_code TYPE varchar(100)",
        f"SELECT 1 FROM zakops.agent_runs WHERE error_code = '{LONG}' AND status = 'failed'",
    ),
    "reviewer over 64": Poison(
        long_reviewer,
        "22001: value too long for type character varying(64)",
        "ALTER TABLE zakops.actions ALTER COLUMN reviewed_by TYPE varchar(100)",
        f"SELECT 1 FROM zakops.actions WHERE reviewed_by = '{LONG}' AND status = 'approved'",
    ),
    "NUL in a payload": Poison(nul_in_payload, "22P05", None, ""),
}


@pytest.mark.parametrize("poison", [pytest.param(v, id=k) for k, v in POISONS.items()])
def test_the_bad_event_is_parked_and_the_rest_of_its_batch_lands(
    sqlite_app: Container, dsn: str, poison: Poison, caplog: pytest.LogCaptureFixture
) -> None:
    app = sqlite_app
    drive_run(app)  # good events before the bad one ...
    bad = poison.write(app)
    drive_deal(app)  # ... and after it, all in one batch
    head = app.store().head()
    assert head < legacy(app).batch_size
    with caplog.at_level(logging.ERROR, logger="zakops.projections"):
        assert legacy(app).catch_up() == head
    ours = rows(dsn, "SELECT event_id FROM zakops.agent_events")
    ours += rows(dsn, "SELECT idempotency_key AS event_id FROM zakops.deal_events")
    landed = {r["event_id"] for r in ours}
    expected = {e.event_id for e in app.queries().get_recent(1000)} - {bad}
    assert landed == expected  # every other event, the bad one's siblings included
    assert len(rows(dsn, "SELECT 1 FROM zakops.agent_events WHERE run_id = 'r-1'")) == 8
    assert rows(dsn, "SELECT stage FROM zakops.deals")[0]["stage"] == "archived"

    [letter] = legacy(app).dead_letters()
    position = app.queries().get_by_id(bad).position
    assert (letter.event_id, letter.position, letter.attempts) == (bad, position, 1)
    assert poison.error in letter.error and bad in letter.error
    assert letter.parked_at.tzinfo is not None
    assert legacy(app).status().parked == 1
    assert legacy(app).view_position() == head  # it went on past the bad event
    logged = [r for r in caplog.records if r.name == "zakops.projections"]
    assert any(bad in r.getMessage() and r.levelno == logging.ERROR for r in logged)

    if poison.fix is None:  # nothing can fix it: a retry keeps it parked, counting attempts
        outcome = legacy(app).retry()
        assert (outcome.written, outcome.still_parked) == (0, 1)
        assert legacy(app).dead_letters()[0].attempts == 2
        return
    outcome = legacy(app).retry()  # not fixed yet
    assert (outcome.written, outcome.still_parked) == (0, 1)
    execute(dsn, poison.fix)
    outcome = legacy(app).retry()
    assert (outcome.written, outcome.still_parked) == (1, 0)
    assert legacy(app).dead_letters() == [] and legacy(app).status().parked == 0
    assert len(rows(dsn, poison.landed)) == 1
    again = rows(dsn, "SELECT event_id FROM zakops.agent_events")
    again += rows(dsn, "SELECT idempotency_key AS event_id FROM zakops.deal_events")
    assert {r["event_id"] for r in again} == expected | {bad}


def test_a_database_outage_parks_nothing(sqlite_app: Container, dsn: str) -> None:
    """Only the events' data is their fault: an unreachable view is retried, never parked."""
    drive_run(sqlite_app)
    projector = legacy(sqlite_app)
    view = sqlite_app.legacy_view()
    assert view is not None
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("ALTER TABLE zakops.agent_events RENAME TO agent_events_away")
        with pytest.raises(psycopg.errors.UndefinedTable):
            projector.catch_up()
        admin.execute("ALTER TABLE zakops.agent_events_away RENAME TO agent_events")
    assert projector.dead_letters() == [] and projector.view_position() == 0
    assert projector.catch_up() == sqlite_app.store().head()
    assert len(rows(dsn, "SELECT 1 FROM zakops.agent_events")) == 8


def test_rebuild_starts_the_dead_letters_afresh(sqlite_app: Container) -> None:
    nul_in_payload(sqlite_app)
    legacy(sqlite_app).catch_up()
    legacy(sqlite_app).retry()
    assert [d.attempts for d in legacy(sqlite_app).dead_letters()] == [2]
    legacy(sqlite_app).rebuild()  # forgets the old letter, then meets the event again
    [letter] = legacy(sqlite_app).dead_letters()
    assert (letter.event_id, letter.attempts) == ("bad-nul", 1)


# --- projected faithfully: the column gets a bounded value, the event row keeps it whole ----
def test_free_text_over_its_column_lands_bounded_with_the_whole_value_kept(
    app: Container, dsn: str
) -> None:
    title, display = "t" * 300, "d" * 300
    app.deals().create_deal("DL-1", "Acme", display_name=display)
    app.deals().update_deal("DL-1", display_name=display + "!")
    app.actions().create_action("A-1", "email", deal_id="DL-1", title=title)
    app.runs().create_run("s-1", "r-1")
    app.runs().start_run("r-1")
    for extra in ("c" * 65, {"nested": "object"}):
        app.emitter().emit(
            "agent.thinking",
            {"content": "x", "tool_call_id": extra},
            session_id="s-1",
            run_id="r-1",
        )
    app.emitter().emit("agent.thinking", {"tool_call_id": "fits"}, session_id="s-1", run_id="r-1")
    legacy(app).catch_up()
    assert legacy(app).dead_letters() == []
    assert rows(dsn, "SELECT display_name FROM zakops.deals")[0]["display_name"] == "d" * 255
    assert rows(dsn, "SELECT title FROM zakops.actions")[0]["title"] == title[:255]
    payloads = rows(dsn, "SELECT event_type, payload FROM zakops.deal_events")
    whole = {r["event_type"]: r["payload"] for r in payloads}
    assert whole["deal.created"]["display_name"] == display
    assert whole["deal.updated"]["display_name"] == display + "!"
    assert whole["action.created"]["title"] == title
    thinking = rows(
        dsn,
        "SELECT tool_call_id, event_data FROM zakops.agent_events "
        "WHERE event_data->>'original_type' = 'agent.thinking' ORDER BY sequence_number",
    )
    assert [r["tool_call_id"] for r in thinking] == [None, None, "fits"]
    assert [r["event_data"]["tool_call_id"] for r in thinking] == [
        "c" * 65,
        {"nested": "object"},
        "fits",
    ]


def test_a_run_longer_than_the_duration_column_holds_is_capped(
    sqlite_app: Container, dsn: str
) -> None:
    run = Run.create(meta("long-created", "s-1", "r-1"), AT, p.RunCreatedPayload())
    run.start(meta("long-started"), AT, p.RunStartedPayload())
    run.complete(meta("long-done"), AT + timedelta(days=30), p.RunCompletedPayload())
    sqlite_app.store().save(run)
    legacy(sqlite_app).catch_up()
    assert legacy(sqlite_app).dead_letters() == []
    run_row = rows(dsn, "SELECT status, duration_ms FROM zakops.agent_runs")[0]
    assert (run_row["status"], run_row["duration_ms"]) == ("completed", 2**31 - 1)


def test_event_data_carries_the_envelope_seq(app: Container, dsn: str) -> None:
    app.sessions().record("s-1", "custom.before", {"n": 1})  # the run's events start at seq 2
    drive_run(app, session="s-1")
    legacy(app).catch_up()
    found = rows(dsn, "SELECT event_id, event_data FROM zakops.agent_events")
    ours = {e.event_id: e for e in app.queries().get_events_by_session("s-1")}
    assert len(found) == 8
    assert all(r["event_data"]["seq"] == ours[r["event_id"]].seq for r in found)
    assert sorted(r["event_data"]["seq"] for r in found) == list(range(2, 10))
