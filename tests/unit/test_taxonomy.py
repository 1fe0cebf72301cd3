"""The registry: all 42 names of the seeds, domains, scopes, payload schemas, custom types."""

from __future__ import annotations

import pytest

from domain import taxonomy
from domain.errors import InvalidInput, UnknownEventType

RUN_SCOPED = {
    "run_created": "run",
    "run_started": "run",
    "run_waiting_input": "run",
    "run_resumed": "run",
    "run_completed": "run",
    "run_failed": "run",
    "run_cancelled": "run",
    "verify_start": "verify",
    "verify_pass": "verify",
    "verify_fail": "verify",
    "tool_policy_blocked": "policy",
    "tool_policy_warn": "policy",
    "agent.tool_called": "agent",
    "agent.tool_completed": "agent",
    "agent.tool_failed": "agent",
    "agent.thinking": "agent",
    "agent.waiting_approval": "agent",
}
NOT_RUN_SCOPED = {
    "deal.created": "deal",
    "deal.updated": "deal",
    "deal.stage_changed": "deal",
    "deal.profile_enriched": "deal",
    "deal.archived": "deal",
    "action.created": "action",
    "action.approved": "action",
    "action.rejected": "action",
    "action.executing": "action",
    "action.completed": "action",
    "action.failed": "action",
    "action.quarantined": "action",
    "worker.job_queued": "worker",
    "worker.job_started": "worker",
    "worker.job_completed": "worker",
    "worker.job_failed": "worker",
    "worker.job_retrying": "worker",
    "worker.job_dlq": "worker",
    "system.startup": "system",
    "system.shutdown": "system",
    "system.health_check": "system",
    "system.error": "system",
}
ALIASES = {
    "agent.run_started": "run_started",
    "agent.run_completed": "run_completed",
    "agent.run_failed": "run_failed",
}


def test_exactly_39_registered_types() -> None:
    assert set(taxonomy.REGISTRY) == set(RUN_SCOPED) | set(NOT_RUN_SCOPED)
    assert len(taxonomy.REGISTRY) == 39


@pytest.mark.parametrize("name", [*RUN_SCOPED, *NOT_RUN_SCOPED, *ALIASES])
def test_all_42_seed_names_are_accepted_with_domain_and_scope(name: str) -> None:
    spec = taxonomy.resolve(name)
    canonical = ALIASES.get(name, name)
    assert spec.name == canonical
    expected_domain = {**RUN_SCOPED, **NOT_RUN_SCOPED}[canonical]
    assert spec.domain == expected_domain
    assert spec.run_scoped is (canonical in RUN_SCOPED)
    assert spec.schema_version >= 1


def test_custom_types_are_session_level() -> None:
    spec = taxonomy.resolve("custom.user_feedback")
    assert (spec.domain, spec.aggregate, spec.run_scoped) == ("custom", "session", False)


@pytest.mark.parametrize("bad", ["custom.", "custom.Has Space", "custom." + "x" * 100])
def test_malformed_custom_types_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="custom"):
        taxonomy.resolve(bad)


@pytest.mark.parametrize("bad", ["run_exploded", "agent.run_paused", "deal.deleted", ""])
def test_unknown_types_are_refused_listing_the_valid_ones(bad: str) -> None:
    with pytest.raises(UnknownEventType) as error:
        taxonomy.resolve(bad)
    message = str(error.value)
    assert "valid types are" in message
    for name in ["run_started", "deal.stage_changed", "agent.run_failed", "system.error"]:
        assert name in message
    assert error.value.field == "type"


def test_payload_required_fields_are_checked() -> None:
    spec = taxonomy.resolve("agent.tool_called")
    with pytest.raises(InvalidInput) as error:
        spec.parse_payload({"tool_name": "search"})
    assert error.value.field == "payload.tool_call_id"


def test_payload_extra_fields_are_kept() -> None:
    parsed = taxonomy.resolve("run_started").parse_payload({"phase": "plan", "model": "gpt"})
    assert parsed.model_dump() == {"phase": "plan", "model": "gpt"}


@pytest.mark.parametrize("bad", ['{"phase": "x"}', b"{}", [1, 2], 3])
def test_payload_must_be_an_object(bad: object) -> None:
    with pytest.raises(InvalidInput, match="must be a JSON object") as error:
        taxonomy.resolve("run_started").parse_payload(bad)
    assert error.value.field == "payload"


def test_run_failed_v1_payload_upcasts_to_v2() -> None:
    spec = taxonomy.resolve("run_failed")
    assert spec.schema_version == 2
    assert spec.upcast({"message": "disk full"}, from_version=1) == {"error": "disk full"}
    assert spec.upcast({"error": "x"}, from_version=2) == {"error": "x"}
