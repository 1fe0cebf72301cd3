"""The legacy routing rules (adapters/legacy/mapping.py and the agent_runs change of
adapters/legacy/rows.py), as pure functions: no database needed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.legacy import mapping as m
from adapters.legacy.rows import LegacyRows
from domain.envelope import Envelope

AT = datetime(2026, 2, 6, 10, 0, tzinfo=UTC)


def envelope(type_name: str, payload: dict[str, Any] | None = None, **fields: Any) -> Envelope:
    values: dict[str, Any] = {
        "type": type_name,
        "timestamp": AT,
        "session_id": "s-1",
        "run_id": "r-1",
        "event_id": "e-1",
        "source": "api",
        "seq": 4,
        "position": 9,
        "payload": payload or {},
    }
    return Envelope.parse({**values, **fields})


def test_waiting_for_approval_is_tool_approval_required() -> None:
    assert m.agent_type("agent.waiting_approval") == "tool_approval_required"
    data = m.agent_data(envelope("agent.waiting_approval", {"tool_call_id": "t-1"}))
    assert "original_type" not in data
    assert m.imported_agent_type("tool_approval_required", {}) == "agent.waiting_approval"


def test_types_without_a_legacy_value_are_custom_with_their_original_type() -> None:
    assert m.agent_type("agent.thinking") == "custom"
    data = m.agent_data(envelope("agent.thinking", {"content": "hmm"}))
    assert data == {"content": "hmm", "original_type": "agent.thinking", "seq": 4, "position": 9}


def test_a_correlation_that_is_not_a_uuid_goes_into_event_data() -> None:
    data = m.agent_data(envelope("run_started", correlation_id="DL-0001"))
    assert data["correlation_id"] == "DL-0001"
    uuid_text = "7d444840-9dc0-11d1-b245-5ffdce74fad2"
    assert "correlation_id" not in m.agent_data(envelope("run_started", correlation_id=uuid_text))
    assert m.as_uuid(uuid_text) is not None and m.as_uuid("DL-0001") is None
    assert m.as_uuid(None) is None


def test_waiting_and_resuming_count_as_running() -> None:
    assert m.RUN_STATUS["run_waiting_input"] == "running"
    assert m.RUN_STATUS["run_resumed"] == "running"
    change = LegacyRows._run_change(envelope("run_waiting_input"), 3, None, True)
    assert (change["status"], change["started"], change["finished"]) == ("running", False, False)


@pytest.mark.parametrize(
    ("type_name", "payload", "status", "error", "code"),
    [
        ("run_failed", {"error": "boom", "error_code": "E42"}, "failed", "boom", "E42"),
        ("run_cancelled", {"reason": "stop"}, "cancelled", None, None),
    ],
)
def test_failed_and_cancelled_runs_finish_with_their_error_code(
    type_name: str, payload: dict[str, Any], status: str, error: str | None, code: str | None
) -> None:
    change = LegacyRows._run_change(envelope(type_name, payload), 7, "planner", True)
    assert (change["status"], change["finished"], change["error"], change["error_code"]) == (
        status,
        True,
        error,
        code,
    )
    assert (change["agent"], change["stream"], change["event_id"]) == ("planner", 8, "e-1")
    stale = LegacyRows._run_change(envelope(type_name, payload), 7, None, False)
    assert (stale["status"], stale["finished"]) == (None, False)  # an older event: no status


def test_a_completed_run_keeps_its_output_as_text() -> None:
    change = LegacyRows._run_change(envelope("run_completed", {"output": {"a": 1}}), 1, None, True)
    assert change["output"] == "{'a': 1}"
    assert LegacyRows._run_change(envelope("run_started"), 1, None, True)["started"] is True


@pytest.mark.parametrize(
    ("legacy", "ours"),
    [
        ("weird type!", "custom.legacy.weird_type"),
        ("Note", "custom.legacy.note"),
        ("...", "custom.legacy.event"),
    ],
)
def test_unknown_legacy_types_are_imported_as_custom_legacy(legacy: str, ours: str) -> None:
    assert m.imported_deal_type(legacy) == ours
    assert m.imported_agent_type(legacy, {}) == ours


def test_legacy_types_we_know_are_imported_as_ours() -> None:
    assert m.imported_deal_type("deal.created") == "deal.created"
    assert m.imported_deal_type("run_started") == "custom.legacy.run_started"  # needs a run
    assert m.imported_agent_type("custom", {"original_type": "agent.thinking"}) == "agent.thinking"
    assert m.imported_agent_type("custom", {"original_type": "deal.created"}) == (
        "custom.legacy.deal.created"
    )
    assert m.imported_agent_type("tool_call_started", {}) == "agent.tool_called"
    long = m.imported_id("deal_events", "k" * 200)
    assert long.startswith("legacy:deal_events:") and len(long) <= 100
    assert m.imported_id("deal_events", "k") == "legacy:deal_events:k"


def test_actors_and_bounds() -> None:
    assert m.actor_parts("agent:planner") == ("planner", "agent")
    assert m.actor_parts("bob") == ("bob", "user")
    assert m.actor_parts("robot:x") == ("robot:x", "user")
    assert m.actor_parts(None) == (None, "system")
    assert m.bounded("abcdef", 3) == "abc" and m.bounded(None, 3) is None
    assert m.tool_call_column({"tool_call_id": "t" * 64}) == "t" * 64
    assert m.tool_call_column({"tool_call_id": "t" * 65}) is None
    assert m.tool_call_column({"tool_call_id": ""}) is None
    assert m.row_uuid("e-1") == m.row_uuid("e-1") != m.row_uuid("e-2")
