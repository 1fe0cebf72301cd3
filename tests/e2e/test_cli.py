"""The operator CLI through Typer's CliRunner against the real container (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest
from typer.testing import CliRunner

from adapters.cli.app import make_cli
from entrypoints.cli import hooks
from entrypoints.settings import Settings

runner = CliRunner()
cli = make_cli(hooks())


@pytest.fixture
def store_args(http_settings: Settings) -> list[str]:
    if http_settings.store == "postgres":
        return ["--dsn", http_settings.dsn()]
    return ["--store", "sqlite", "--sqlite-path", str(http_settings.sqlite_path)]


@pytest.fixture
def env(http_settings: Settings, tmp_path: Path) -> dict[str, str]:
    return {"ZAKOPS_POSTGRES_SCHEMA": http_settings.postgres_schema,
            "ZAKOPS_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}  # fmt: skip


def zakops(store_args: list[str], env: dict[str, str], *args: str, code: int = 0) -> str:
    result = runner.invoke(cli, [*store_args, *args], env=env)
    assert result.exit_code == code, (args, result.exit_code, result.output)
    return result.output


def test_db_init_check_demo_and_reads(store_args: list[str], env: dict[str, str]) -> None:
    zakops(store_args, env, "db", "init")
    zakops(store_args, env, "db", "init")  # idempotent
    check = json.loads(zakops(store_args, env, "db", "check", "--json"))
    assert check["events"] == 0
    assert "demo written" in zakops(store_args, env, "demo")
    assert json.loads(zakops(store_args, env, "db", "check", "--json"))["events"] > 0
    runs = json.loads(zakops(store_args, env, "runs", "list", "--json"))
    statuses = ["cancelled", "completed", "failed", "running"]
    assert sorted(r["status"] for r in runs["items"]) == statuses
    dead = json.loads(zakops(store_args, env, "jobs", "list", "--status", "dlq", "--json"))
    assert dead["total"] == 1
    session = runs["items"][0]["session_id"]
    timeline = json.loads(zakops(store_args, env, "sessions", "events", session, "--json"))
    seqs = [e["seq"] for e in timeline["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    types = {e["type"] for e in timeline["events"]}
    assert {"verify_fail", "verify_pass", "tool_policy_blocked", "run_cancelled"} <= types
    completed = next(r["key"] for r in runs["items"] if r["status"] == "completed")
    shown = json.loads(zakops(store_args, env, "runs", "show", completed, "--json"))
    assert (shown["run"]["verified"], shown["run"]["status"]) == (True, "completed")
    assert "completed" in zakops(store_args, env, "runs", "show", completed)
    deals = json.loads(zakops(store_args, env, "deals", "list", "--json"))
    assert sorted(d["status"] for d in deals["items"]) == ["archived", "loi"]
    deal = next(d["key"] for d in deals["items"] if d["status"] == "loi")
    assert (
        json.loads(zakops(store_args, env, "deals", "show", deal, "--json"))["deal"]["stage"]
        == "loi"
    )
    actions = json.loads(zakops(store_args, env, "actions", "list", "--json"))
    assert sorted(a["status"] for a in actions["items"]) == ["completed", "created", "rejected"]
    recent = json.loads(zakops(store_args, env, "events", "recent", "--limit", "3", "--json"))
    assert len(recent["events"]) == 3
    one = json.loads(
        zakops(store_args, env, "events", "get", recent["events"][0]["event_id"], "--json")
    )
    assert one == recent["events"][0]
    stats = json.loads(zakops(store_args, env, "events", "stats", "--json"))
    assert stats["total"] >= 30
    correlated = json.loads(zakops(store_args, env, "events", "by-correlation", deal, "--json"))
    assert correlated["events"][0]["type"] == "deal.created"
    status = json.loads(zakops(store_args, env, "projections", "status", "--json"))
    assert status["projections"] == []  # the log is the timeline; legacy needs its DSN


def test_operator_commands_refusals_and_bad_input(
    store_args: list[str], env: dict[str, str]
) -> None:
    zakops(store_args, env, "emit", "run_created", "--session", "s-1", "--run", "r-1")
    zakops(store_args, env, "emit", "run_started", "--run", "r-1", "--payload", '{"phase": "x"}')
    out = json.loads(zakops(store_args, env, "runs", "cancel", "r-1", "--reason", "ops", "--json"))
    assert out["events"][0]["type"] == "run_cancelled"
    refused = zakops(store_args, env, "runs", "fail", "r-1", "--error", "x", code=1)
    assert "run r-1 is cancelled" in refused
    before = json.loads(zakops(store_args, env, "events", "stats", "--json"))["total"]
    bad = zakops(
        store_args, env, "emit", "custom.x", "--session", "s", "--payload", '"text"', code=2
    )
    assert len(bad.strip().splitlines()) == 1
    zakops(store_args, env, "emit", "nope.type", "--session", "s", code=2)
    zakops(store_args, env, "emit", "custom.x", "--payload", "@/no/such/file.json", code=2)
    zakops(store_args, env, "emit", "custom.x", "--payload", "{not json", code=2)
    zakops(store_args, env, "projections", "rebuild", "legacy", code=2)  # needs --yes
    zakops(store_args, env, "events", "recent", "--limit", "0", code=2)
    assert zakops(store_args, env, "runs", "show", "no-such-run", code=4) == (
        "error: run no-such-run not found\n"
    )
    zakops(store_args, env, "events", "get", "no-such-event", code=4)
    zakops(store_args, env, "runs", "list", "--status", "bogus", code=2)
    zakops(store_args, env, "deals", "list", "--stage", "bogus", code=2)
    no_session = zakops(store_args, env, "emit", "custom.note", code=2)
    assert "session_id" in no_session and len(no_session.strip().splitlines()) == 1
    for usage in (["runs", "list", "--bogus"], ["runs", "show"], ["--store", "x", "runs"]):
        out = zakops(store_args, env, *usage, code=2)
        assert out.startswith("error: ") and len(out.strip().splitlines()) == 1, out
    after = json.loads(zakops(store_args, env, "events", "stats", "--json"))["total"]
    assert after == before
    zakops(store_args, env, "emit", "action.created", "--payload",
           '{"action_id": "A-1", "action_type": "wire"}')  # fmt: skip
    zakops(store_args, env, "actions", "quarantine", "A-1", "--reason", "odd")
    zakops(store_args, env, "actions", "approve", "A-1")
    zakops(store_args, env, "actions", "reject", "A-1", code=1)
    zakops(store_args, env, "emit", "worker.job_queued", "--payload",
           '{"job_id": "J-1", "job_type": "x", "max_attempts": 1}')  # fmt: skip
    zakops(store_args, env, "emit", "worker.job_started", "--payload", '{"job_id": "J-1"}')
    zakops(
        store_args, env, "emit", "worker.job_failed", "--payload", '{"job_id": "J-1", "error": "e"}'
    )
    zakops(store_args, env, "emit", "worker.job_dlq", "--payload", '{"job_id": "J-1"}')
    requeued = json.loads(zakops(store_args, env, "jobs", "requeue", "J-1", "--json"))
    assert requeued["events"][0]["payload"]["requeued"] is True
    # the log is the timeline: there is nothing to rebuild, and saying so exits 2
    assert "unknown or disabled projection 'timeline'" in zakops(
        store_args, env, "projections", "rebuild", "timeline", "--yes", code=2
    )
    assert "reader key: zk_" in zakops(store_args, env, "keys", "create", "--role", "reader")
    zakops(store_args, env, "keys", "create", "--role", "admin", code=2)


def test_tail_follow_prints_an_event_written_after_it_started(
    store_args: list[str], env: dict[str, str]
) -> None:
    """The real `zakops` process: the second event is written only once tail has printed
    the first, so replay alone cannot satisfy the test; tail must pick it up live."""
    zakops(store_args, env, "emit", "custom.first", "--session", "s-t")
    tail = ["events", "tail", "--session", "s-t", "--follow", "--max-events", "2", "--json"]
    command = [sys.executable, "-m", "entrypoints.cli", *store_args, *tail, "--poll", "0.05"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **env, "ZAKOPS_ENV_FILE": ""},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = json.loads(_line_within(process.stdout, 60))
        assert (first["type"], first["seq"]) == ("custom.first", 1)
        zakops(store_args, env, "emit", "custom.later", "--session", "s-t", "--payload", '{"n": 1}')
        second = json.loads(_line_within(process.stdout, 30))
        assert (second["type"], second["seq"], second["payload"]) == ("custom.later", 2, {"n": 1})
        assert process.wait(timeout=30) == 0  # --max-events 2: done
    finally:
        process.kill()
        process.wait()
    resumed = zakops(
        store_args, env, "events", "tail", "--session", "s-t", "--since-seq", "1", "--json"
    )
    assert [json.loads(line)["seq"] for line in resumed.strip().splitlines()] == [2]


def _line_within(stream: IO[str], seconds: float) -> str:
    """The next line of `stream`, or a failure after `seconds` (a tail that never prints)."""
    ready, _, _ = select.select([stream], [], [], seconds)
    assert ready, f"no line within {seconds} s"
    line = stream.readline()
    assert line, "the process ended without printing"
    return line


def test_help_reads_well() -> None:
    top = runner.invoke(cli, ["--help"], env={"COLUMNS": "120"})
    assert top.exit_code == 0
    for group in [
        "events",
        "runs",
        "deals",
        "actions",
        "jobs",
        "projections",
        "db",
        "emit",
        "serve",
    ]:
        assert group in top.output
        assert runner.invoke(cli, [group, "--help"]).exit_code == 0
    assert runner.invoke(cli, ["--store", "oracle", "runs", "list"]).exit_code == 2
    assert runner.invoke(cli, ["--store", "memory", "serve", "--workers", "2"]).exit_code == 2


@pytest.mark.postgres
def test_legacy_import_status_and_rebuild(tmp_path: Path) -> None:
    from tests.integration.test_legacy import foreign_rows
    from tests.legacy import create_legacy_tables
    from tests.postgres import temporary_database

    with temporary_database("zakops_cli_legacy") as dsn:
        create_legacy_tables(dsn)
        foreign_rows(dsn)
        env = {"ZAKOPS_LEGACY_DSN": dsn, "ZAKOPS_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
        args = ["--dsn", dsn]
        zakops(args, env, "emit", "run_created", "--session", "s-1", "--run", "r-1")
        zakops(args, env, "projections", "run", "legacy", "--once")
        first = json.loads(zakops(args, env, "legacy", "import", "--json"))
        assert (first["read"], first["imported"]) == (5, 5)
        again = json.loads(zakops(args, env, "legacy", "import", "--json"))
        assert (again["imported"], again["already_imported"]) == (0, 5)
        status = json.loads(zakops(args, env, "projections", "status", "--json"))
        assert [p["name"] for p in status["projections"]] == ["legacy"]
        assert "legacy rebuilt" in zakops(args, env, "projections", "rebuild", "legacy", "--yes")
        zakops(args, env, "projections", "rebuild", "nope", "--yes", code=2)
    zakops(["--store", "memory"], {"COLUMNS": "200"}, "legacy", "import", code=2)


def test_an_unreachable_store_exits_3(tmp_path: Path) -> None:
    env = {"ZAKOPS_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    dsn = "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2"
    result = runner.invoke(cli, ["--dsn", dsn, "runs", "list"], env=env)
    assert result.exit_code == 3, result.output
    assert "store unreachable" in result.output


def test_the_readmes_examples_work_against_the_demo(
    store_args: list[str], env: dict[str, str]
) -> None:
    """The ids the README quotes are the demo's: DL-0001, sess-0001, run-0001-*, ACT-1,
    JOB-1; a second demo numbers on."""
    assert "sess-0001" in zakops(store_args, env, "demo")
    assert "sess-0002" in zakops(store_args, env, "demo")
    deal = json.loads(zakops(store_args, env, "events", "by-correlation", "DL-0001", "--json"))
    assert deal["events"][0]["type"] == "deal.created"
    zakops(store_args, env, "runs", "show", "run-0001-verified")
    zakops(store_args, env, "sessions", "events", "sess-0001", "--since-seq", "10", "--run",
           "run-0001-asking")  # fmt: skip
    zakops(store_args, env, "runs", "cancel", "run-0001-stuck", "--reason", "stuck on a tool")
    zakops(store_args, env, "actions", "approve", "ACT-1")
    zakops(store_args, env, "jobs", "requeue", "JOB-1")
    zakops(store_args, env, "emit", "custom.note", "--session", "sess-0001", "--payload",
           '{"text": "hi"}')  # fmt: skip
    zakops(store_args, env, "deals", "show", "DL-0003")


def test_tables_never_cut_ids_and_help_shows_no_type_metavars(
    store_args: list[str], env: dict[str, str]
) -> None:
    zakops(store_args, env, "demo")
    narrow = {**env, "COLUMNS": "80"}
    listing = zakops(store_args, narrow, "runs", "list")
    for run in ("run-0001-verified", "run-0001-cancelled", "run-0001-asking", "run-0001-stuck"):
        assert run in listing, listing
    timeline = zakops(store_args, narrow, "sessions", "events", "sess-0001")
    assert "run-0001-cancelled" in timeline and "sess-0001" in timeline
    for command in ([], ["runs", "list"], ["emit"], ["events", "tail"]):
        shown = zakops([], narrow, *command, "--help")
        assert "<bool>" not in shown and "<str>" not in shown, shown


@pytest.mark.postgres
def test_a_cli_write_catches_the_legacy_tables_up_before_it_exits(
    store_args: list[str], env: dict[str, str]
) -> None:
    from tests.legacy import create_legacy_tables
    from tests.postgres import temporary_database

    with temporary_database("zakops_cli_legacy") as legacy:
        create_legacy_tables(legacy)
        with_legacy = {**env, "ZAKOPS_LEGACY_DSN": legacy}
        zakops(store_args, with_legacy, "emit", "deal.created", "--payload",
               '{"deal_id": "DL-0009", "name": "Acme"}')  # fmt: skip
        status = json.loads(zakops(store_args, with_legacy, "projections", "status", "--json"))
        assert [(p["name"], p["lag_events"]) for p in status["projections"]] == [("legacy", 0)]
        import psycopg

        with psycopg.connect(legacy) as connection:
            row = connection.execute(
                "SELECT count(*) FROM zakops.deal_events WHERE deal_id = 'DL-0009'"
            ).fetchone()
        assert row is not None and row[0] == 1
