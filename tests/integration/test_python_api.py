"""The seeds' own usage examples, as written (only import paths adapted: `src.core.events` ->
`entrypoints.events`), against SQLite and PostgreSQL, wired from the settings alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from domain.errors import InvalidInput, NotFound
from domain.taxonomy import REGISTRY

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def configured(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Only ZAKOPS_* variables: the composition root builds the application on first use."""
    from entrypoints.container import wire_python_api
    from entrypoints.events import reset_default_container

    wire_python_api()  # as importing entrypoints.events did (another test may have unwired it)

    monkeypatch.chdir(tmp_path)  # no stray .env
    if request.param == "postgres":
        monkeypatch.setenv("ZAKOPS_STORE", "postgres")
        monkeypatch.setenv("ZAKOPS_POSTGRES_DSN", request.getfixturevalue("pg_database"))
        monkeypatch.setenv("ZAKOPS_POSTGRES_SCHEMA", request.getfixturevalue("pg_schema"))
    else:
        monkeypatch.setenv("ZAKOPS_STORE", "sqlite")
        monkeypatch.setenv("ZAKOPS_SQLITE_PATH", str(tmp_path / "api.sqlite"))
    reset_default_container()
    yield str(request.param)
    reset_default_container()


def seed_examples() -> dict[str, Any]:
    """The first seed's four examples, verbatim but for the import paths."""
    from entrypoints.events import publish_deal_event, DealEventType  # noqa: I001
    from entrypoints.events import publish_action_event, ActionEventType
    from entrypoints.events.integration import emit_deal_event

    deal = SimpleNamespace(deal_id="DL-0001", canonical_name="Acme Corp", stage="inbound")
    action = SimpleNamespace(action_id="ACT-0001", deal_id="DL-0001")
    operator = SimpleNamespace(email="ops@example.com")
    correlation_id = "DL-0001"
    updated_deal = {"name": "Acme Corporation"}

    async def run() -> dict[str, Any]:
        # When a deal is created
        await publish_deal_event(
            deal_id=deal.deal_id,
            event_type=DealEventType.CREATED.value,
            event_data={"name": deal.canonical_name, "stage": deal.stage},
        )
        await publish_action_event(
            action_id=action.action_id,
            correlation_id=correlation_id,
            event_type=ActionEventType.CREATED.value,
            event_data={"action_type": "send_loi"},
            deal_id=action.deal_id,
        )
        # When an action is approved
        await publish_action_event(
            action_id=action.action_id,
            correlation_id=correlation_id,
            event_type=ActionEventType.APPROVED.value,
            event_data={"approved_by": operator.email},
            deal_id=action.deal_id,
        )

        @emit_deal_event(DealEventType.UPDATED)
        async def update_deal(deal_id: UUID, updates: dict[str, Any]) -> dict[str, Any]:
            # Business logic here
            return {"deal_id": deal_id, **updated_deal}

        await update_deal("DL-0001", updated_deal)  # type: ignore[arg-type]  # our deal ids are DL-nnnn

        from entrypoints.events import get_query_service

        service = await get_query_service()

        # Get recent events
        events = await service.get_recent(limit=50)

        # Get events for a deal
        deal_events = await service.get_by_correlation_id(deal.deal_id)

        # Get event statistics
        stats = await service.get_stats()
        return {"recent": events, "deal": deal_events, "stats": stats, "service": service}

    return asyncio.run(run())


def test_the_first_seeds_examples_run_as_written(configured: str) -> None:
    got = seed_examples()
    types = ["deal.created", "action.created", "action.approved", "deal.updated"]
    assert [e.type for e in got["deal"]] == types
    assert [e.type for e in got["recent"]] == types[::-1]
    assert got["stats"].total == 4
    assert got["stats"].by_domain == {"deal": 2, "action": 2}
    one = asyncio.run(got["service"].get_by_id(got["deal"][0].event_id))
    assert one.payload["name"] == "Acme Corp"
    assert got["deal"][2].actor is None and got["deal"][2].payload["approved_by"]


def test_agent_worker_system_publishers_and_run_reads(configured: str) -> None:
    import entrypoints.events as events

    events.publish_agent_event_sync("run-1", events.RunEventType.RUN_CREATED, thread_id="s-1")
    events.publish_agent_event_sync("run-1", events.AgentEventType.RUN_STARTED)
    asyncio.run(
        events.publish_agent_event(
            "run-1", events.AgentEventType.THINKING, {"content": "hm"}, session_id="s-1"
        )
    )
    events.publish_system_event_sync(events.SystemEventType.STARTUP, {"component": "api"})
    events.publish_worker_event_sync("J-1", events.WorkerEventType.JOB_QUEUED, {"job_type": "x"})
    by_run = events.get_events_by_run("s-1", "run-1", since_seq=1, limit=10)
    assert [(e.seq, e.type) for e in by_run] == [(2, "run_started"), (3, "agent.thinking")]
    assert events.get_events_by_run("other-session", "run-1") == []
    service = events.get_query_service_sync()
    assert [e.seq for e in service.get_by_run("run-1")] == [1, 2, 3]
    assert asyncio.run(events.get_query_service()).sync.get_stats().total == 5
    with pytest.raises(InvalidInput, match="not a deal"):
        events.publish_deal_event_sync("DL-1", "action.created")
    with pytest.raises(NotFound):
        service.get_by_id("nope")


def test_enums_are_the_registry() -> None:
    from entrypoints.events import ActionEventType, AgentEventType, DealEventType

    assert {t.value for t in DealEventType} == {n for n in REGISTRY if n.startswith("deal.")}
    assert ActionEventType.QUARANTINED.value == "action.quarantined"
    assert AgentEventType.RUN_FAILED.value == "agent.run_failed"  # the old spelling, accepted
