"""The legacy projection into the ZakOps tables (PostgreSQL, tables from the contract)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from pydantic import SecretStr

from application.legacy import LegacyImporter, LegacyItem, LegacyProjector
from entrypoints.container import Container, build, close, init_db
from entrypoints.settings import Settings
from tests.legacy import ROOT, create_legacy_tables
from tests.postgres import temporary_database

pytestmark = pytest.mark.postgres
AGENT_TYPES = {
    "run_created",
    "run_started",
    "run_completed",
    "run_failed",
    "run_cancelled",
    "tool_call_started",
    "tool_call_completed",
    "tool_call_failed",
    "tool_approval_required",
    "tool_approval_granted",
    "tool_approval_denied",
    "stream_start",
    "stream_token",
    "stream_end",
    "stream_error",
    "custom",
}


@pytest.fixture
def dsn() -> Iterator[str]:
    with temporary_database("zakops_legacy") as url:
        create_legacy_tables(url)
        yield url


@pytest.fixture
def app(dsn: str) -> Iterator[Container]:
    settings = Settings(
        store="postgres", postgres_dsn=SecretStr(dsn), legacy_dsn=SecretStr(dsn), _env_file=None
    )
    container = build(settings)
    init_db(container)
    yield container
    close(container)


def legacy(app: Container) -> LegacyProjector:
    projector = app.legacy()
    assert projector is not None
    return projector


def rows(dsn: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as connection:
        return connection.execute(sql, params).fetchall()


def drive_run(app: Container, run: str = "r-1", session: str = "s-1") -> None:
    runs = app.runs()
    runs.create_run(session, run, agent="planner")
    runs.start_run(run)
    runs.think(run, content="plan")
    runs.call_tool(run, "t-1", "search")
    runs.complete_tool(run, "t-1", result={"hits": 1})
    runs.start_verification(run)
    runs.pass_verification(run)
    runs.complete_run(run, output="done")


def drive_deal(app: Container, deal: str = "DL-0001") -> None:
    deals = app.deals()
    deals.create_deal(deal, "Acme Corp")
    for stage in ("screening", "qualified", "loi"):
        deals.move_deal(deal, stage)
    deals.archive_deal(deal, reason="lost")


def test_run_lands_in_agent_tables_as_the_old_dashboard_reads_it(app: Container, dsn: str) -> None:
    drive_run(app)
    legacy(app).catch_up()
    events = rows(
        dsn, "SELECT * FROM zakops.agent_events WHERE run_id = 'r-1' ORDER BY sequence_number"
    )
    assert [(e["sequence_number"], e["event_type"]) for e in events] == [
        (0, "run_created"),
        (1, "run_started"),
        (2, "custom"),
        (3, "tool_call_started"),
        (4, "tool_call_completed"),
        (5, "custom"),
        (6, "custom"),
        (7, "run_completed"),
    ]
    assert {e["event_type"] for e in events} <= AGENT_TYPES
    custom = [e["event_data"].get("original_type") for e in events if e["event_type"] == "custom"]
    assert custom == [
        "agent.thinking",
        "verify_start",
        "verify_pass",
    ]
    assert events[3]["tool_call_id"] == "t-1"
    ours = {e.event_id: e for e in app.queries().get_events_by_run("r-1")}
    assert {e["event_id"] for e in events} == set(ours)
    assert all(e["thread_id"] == "s-1" for e in events)
    assert all(e["created_at"] == ours[e["event_id"]].timestamp for e in events)
    run = rows(dsn, "SELECT * FROM zakops.agent_runs WHERE run_id = 'r-1'")[0]
    assert (run["status"], run["thread_id"], run["assistant_id"]) == ("completed", "s-1", "planner")
    assert run["started_at"] is not None and run["completed_at"] >= run["started_at"]
    assert run["duration_ms"] >= 0 and run["output_message"] == "done"
    assert (run["last_event_id"], run["stream_position"]) == (events[-1]["event_id"], 8)
    thread = rows(dsn, "SELECT * FROM zakops.agent_threads WHERE thread_id = 's-1'")
    assert len(thread) == 1
    dashboard = rows(
        dsn,
        """
        SELECT id::text AS id, correlation_id::text, event_type, event_data, NULL AS schema_version,
               NULL AS source, run_id, thread_id, created_at FROM zakops.agent_events
        UNION ALL
        SELECT id::text, correlation_id, event_type, payload, schema_version, event_source,
               NULL, NULL, created_at FROM zakops.deal_events
        ORDER BY created_at""",
    )
    assert len(dashboard) == 8


def test_deal_pipeline_lands_in_deal_events_and_updates_the_stage(app: Container, dsn: str) -> None:
    drive_deal(app)
    app.actions().create_action("A-1", "send_loi", deal_id="DL-0001")
    app.actions().approve("A-1", approved_by="ops")
    app.actions().create_action("A-2", "call", requires_approval=False)
    app.actions().execute("A-2")
    app.jobs().enqueue("J-1", "enrich")
    app.sessions().record("s-9", "custom.note", {"text": "hi"})
    app.emitter().emit("system.startup", {"message": "up"})
    legacy(app).catch_up()
    deal = rows(dsn, "SELECT * FROM zakops.deals WHERE deal_id = 'DL-0001'")[0]
    assert (deal["stage"], deal["status"], deal["canonical_name"]) == (
        "archived",
        "archived",
        "Acme Corp",
    )
    events = rows(dsn, "SELECT * FROM zakops.deal_events ORDER BY sequence_number")
    assert [e["event_type"] for e in events] == [
        "deal.created",
        "deal.stage_changed",
        "deal.stage_changed",
        "deal.stage_changed",
        "deal.archived",
        "action.created",
        "action.approved",
        "action.created",
        "action.executing",
        "worker.job_queued",
        "custom.note",
        "system.startup",
    ]
    by_type = {(e["event_type"], e["payload"].get("action_id")): e for e in events}
    created = events[0]
    assert created["deal_id"] == "DL-0001" and created["aggregate_type"] == "deal"
    assert created["event_version"] == 1 and created["schema_version"] == "1.0.0"
    assert created["payload"]["event_id"] == created["idempotency_key"]
    assert created["payload"]["correlation_id"] == "DL-0001" == created["correlation_id"]
    assert created["event_source"] == "api" and created["actor_type"] == "system"
    assert by_type[("action.approved", "A-1")]["deal_id"] == "DL-0001"
    assert by_type[("action.executing", "A-2")]["deal_id"] is None
    assert [e["deal_id"] for e in events[-3:]] == [None, None, None]
    ours = {e.event_id: e for e in app.queries().get_recent(100)}
    assert all(e["created_at"] == ours[e["idempotency_key"]].timestamp for e in events)
    action = rows(dsn, "SELECT * FROM zakops.actions WHERE action_id = 'A-1'")[0]
    assert (action["status"], action["deal_id"], action["approvals"][0]["by"]) == (
        "approved",
        "DL-0001",
        "ops",
    )
    assert rows(dsn, "SELECT status FROM zakops.actions WHERE action_id = 'A-2'")[0]["status"] == (
        "executing"
    )


def foreign_rows(dsn: str) -> None:
    """Rows older software wrote, before we ever ran."""
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(
            "INSERT INTO zakops.deals (deal_id, canonical_name, stage) "
            "VALUES ('DL-OLD', 'Old Co', 'qualified')"
        )
        c.execute(
            "INSERT INTO zakops.deal_events (deal_id, event_type, event_source, payload, "
            "created_at) VALUES ('DL-OLD', 'deal.stage_changed', 'deal_lifecycle', "
            '\'{"from_stage": "screening", "to_stage": "qualified"}\', '
            "'2026-01-10T10:00:00Z')"
        )
        c.execute("INSERT INTO zakops.agent_threads (thread_id) VALUES ('old-thread')")
        c.execute(
            "INSERT INTO zakops.agent_runs (run_id, thread_id, status) "
            "VALUES ('old-run', 'old-thread', 'completed')"
        )
        for n, kind in enumerate(["run_started", "tool_call_started", "custom", "run_completed"]):
            c.execute(
                "INSERT INTO zakops.agent_events (event_id, thread_id, run_id, event_type, "
                "event_data, sequence_number, created_at) VALUES (%s, 'old-thread', "
                "'old-run', %s, %s, %s, %s)",
                (
                    f"old-{n}",
                    kind,
                    '{"original_type": "agent.thinking"}',
                    n,
                    datetime(2026, 1, 10, 11, n, tzinfo=UTC),
                ),
            )


def snapshot(dsn: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "agent_events": rows(
            dsn,
            "SELECT event_id, thread_id, run_id, event_type, event_data, "
            "tool_call_id, sequence_number, created_at, correlation_id "
            "FROM zakops.agent_events ORDER BY event_id",
        ),
        "deal_events": rows(
            dsn,
            "SELECT id, deal_id, event_type, event_source, actor, payload, "
            "created_at, idempotency_key, correlation_id, aggregate_id "
            "FROM zakops.deal_events ORDER BY id",
        ),
        "runs": rows(dsn, "SELECT * FROM zakops.agent_runs ORDER BY run_id"),
        "threads": rows(dsn, "SELECT thread_id, status FROM zakops.agent_threads ORDER BY 1"),
        "deals": rows(dsn, "SELECT * FROM zakops.deals ORDER BY deal_id"),
        "actions": rows(dsn, "SELECT * FROM zakops.actions ORDER BY action_id"),
    }


def test_rebuild_equals_incremental_and_spares_foreign_rows(app: Container, dsn: str) -> None:
    foreign_rows(dsn)
    before_foreign = snapshot(dsn)
    drive_run(app)
    drive_deal(app)
    app.actions().create_action("A-1", "email", deal_id="DL-0001")
    legacy(app).catch_up()
    incremental = snapshot(dsn)
    assert legacy(app).rebuild() == app.store().head()
    assert snapshot(dsn) == incremental
    for table in ("agent_events", "deal_events", "runs", "threads", "deals"):
        old = before_foreign[table]
        assert all(row in incremental[table] for row in old), table


def test_import_is_idempotent_and_never_projected_back(app: Container, dsn: str) -> None:
    foreign_rows(dsn)
    drive_run(app)
    legacy(app).catch_up()
    importer = app.importer()
    assert isinstance(importer, LegacyImporter)
    first = importer.run()
    assert (first.read, first.imported) == (5, 5)
    again = importer.run()
    assert (again.read, again.imported, again.already) == (5, 0, 5)
    legacy(app).catch_up()
    assert len(rows(dsn, "SELECT 1 FROM zakops.agent_events")) == 4 + 8
    assert len(rows(dsn, "SELECT 1 FROM zakops.deal_events")) == 1
    old_run = app.queries().get_events_by_run("old-run")
    assert [e.type for e in old_run] == [
        "run_started",
        "agent.tool_called",
        "agent.thinking",
        "run_completed",
    ]
    history = app.queries().get_by_correlation_id("DL-OLD")
    assert [e.type for e in history] == ["deal.stage_changed"]
    assert history[0].timestamp == datetime(2026, 1, 10, 10, tzinfo=UTC)


def test_killed_worker_leaves_no_duplicates_or_gaps(app: Container, dsn: str) -> None:
    at = datetime.now(UTC)
    from domain import payloads as p
    from domain.model import EventMeta
    from domain.run import Run

    pending = []
    for r in range(60):
        run = Run.create(
            EventMeta(event_id=f"c-{r}", session_id=f"s-{r % 7}", run_id=f"r-{r}"),
            at,
            p.RunCreatedPayload(),
        )
        run.start(EventMeta(event_id=f"s-{r}"), at)
        for i in range(48):
            run.think(EventMeta(event_id=f"t-{r}-{i}"), at, p.ThinkingPayload(content="x"))
        pending.append(run)
    app.store().save(*pending)
    head = app.store().head()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ZAKOPS_STORE": "postgres",
        "ZAKOPS_POSTGRES_DSN": dsn,
        "ZAKOPS_LEGACY_DSN": dsn,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "projections", "run", "legacy", "--poll", "0.05"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while legacy(app).view_position() == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    assert 0 < legacy(app).view_position() < head, "kill it mid-way: make the log longer"
    assert legacy(app).catch_up() == head
    counts = rows(
        dsn,
        "SELECT run_id, COUNT(*) AS n, COUNT(DISTINCT sequence_number) AS d, "
        "MIN(sequence_number) AS lo, MAX(sequence_number) AS hi "
        "FROM zakops.agent_events GROUP BY run_id",
    )
    assert len(counts) == 60
    assert all((c["n"], c["d"], c["lo"], c["hi"]) == (50, 50, 0, 49) for c in counts)


def test_events_about_foreign_rows_never_update_them(app: Container, dsn: str) -> None:
    """Our events name the ids of rows older software wrote: the inserts find the row taken and
    every UPDATE is held back by the ownership check, so not one foreign column changes."""
    foreign_rows(dsn)
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(
            "INSERT INTO zakops.actions (action_id, deal_id, action_type, status) "
            "VALUES ('A-OLD', 'DL-OLD', 'email', 'pending')"
        )
    before = snapshot(dsn)
    deals = app.deals()
    deals.create_deal("DL-OLD", "Not Old Co")
    deals.move_deal("DL-OLD", "screening")
    deals.archive_deal("DL-OLD", reason="lost")
    runs = app.runs()
    runs.create_run("old-thread", "old-run", agent="intruder")
    runs.start_run("old-run")
    runs.fail_run("old-run", error="boom")
    app.actions().create_action("A-OLD", "call", deal_id="DL-OLD")
    app.actions().reject("A-OLD", reason="no")
    legacy(app).catch_up()
    after = snapshot(dsn)
    for table, key in (
        ("deals", "deal_id"),
        ("runs", "run_id"),
        ("threads", "thread_id"),
        ("actions", "action_id"),
    ):
        old = {row[key]: row for row in before[table]}
        new = {row[key]: row for row in after[table]}
        assert old, table
        assert {k: new[k] for k in old} == old, table
    # the events themselves did land: the rows were spared, not the log
    assert len(after["agent_events"]) > len(before["agent_events"])


def test_a_second_worker_that_loses_the_race_goes_on_from_the_winners_position(
    app: Container, dsn: str
) -> None:
    """Two workers (two containers, as two processes would have) read the same batch; the
    first commits it; the second's commit is refused (`ProjectionConflict`) because the
    tracking moved, so it re-reads the position and writes nothing twice."""
    drive_run(app)
    winner = legacy(app)
    other = build(app.settings())
    try:
        loser = other.legacy()
        assert loser is not None
        real_log, real_commit = loser.log, loser.view.commit
        refused: list[Exception] = []

        class LetTheWinnerGoFirst:
            """The loser's log: right after the loser has read its batch, the winner
            projects everything (as if it had been a moment faster)."""

            def __getattr__(self, name: str) -> Any:
                return getattr(real_log, name)

            def log_after(self, position: int, limit: int) -> Any:
                found = real_log.log_after(position, limit)
                if found and winner.view_position() < found[-1].position:
                    winner.catch_up()
                return found

        def commit(items: Sequence[LegacyItem], position: int, expected: int) -> None:
            try:
                real_commit(items, position, expected)
            except Exception as error:
                refused.append(error)
                raise

        loser.log = LetTheWinnerGoFirst()  # a delegating stand-in
        loser.view.commit = commit  # type: ignore[method-assign]  # observed, not replaced
        head = app.store().head()
        assert loser.catch_up() == head
        assert [type(e).__name__ for e in refused] == ["ProjectionConflict"]
        assert winner.view_position() == loser.view_position() == head
        events = rows(dsn, "SELECT sequence_number FROM zakops.agent_events WHERE run_id = 'r-1'")
        assert sorted(e["sequence_number"] for e in events) == list(range(8))  # once each
    finally:
        close(other)
