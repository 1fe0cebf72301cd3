"""Refusals say what was attempted on what (the HTTP problem's `attempted_event`, the
message), and the `run_failed` upcaster keeps what v1 producers sent."""

from __future__ import annotations

import pytest

from domain import payloads as p
from domain.errors import AlreadyExists, DealArchived, ToolCallRefused
from domain.run import Run
from domain.taxonomy import resolve
from tests.unit.builders import AT, deal_in, meta, new_deal, run_in


def test_enriching_an_archived_deal_names_the_event_attempted() -> None:
    deal = deal_in("archived")
    with pytest.raises(DealArchived) as refused:
        deal.enrich(meta(), AT, p.DealProfileEnrichedPayload(deal_id="DL-0001", profile={}))
    assert refused.value.attempted == "deal.profile_enriched"
    assert refused.value.current == "archived"


def test_waiting_for_approval_on_an_unknown_tool_call_names_the_event_attempted() -> None:
    run = run_in("running")
    with pytest.raises(ToolCallRefused) as refused:
        run.wait_for_approval(meta(), AT, p.WaitingApprovalPayload(tool_call_id="nope"))
    assert refused.value.attempted == "agent.waiting_approval"
    assert "'nope'" in str(refused.value)


def test_a_create_for_an_existing_aggregate_names_its_kind_and_key() -> None:
    deal = new_deal()
    created = p.DealCreatedPayload.model_validate({"deal_id": "DL-0001", "name": "Acme"})
    with pytest.raises(AlreadyExists) as refused:
        deal.created_again(meta(), "deal.created", created)
    assert (refused.value.kind, refused.value.key) == ("deal", "DL-0001")
    assert str(refused.value) == "deal DL-0001 already exists"
    run: Run = run_in("running")
    with pytest.raises(AlreadyExists, match=r"^run run-1 already exists$"):
        run.created_again(meta(), "run_created", p.RunCreatedPayload())


@pytest.mark.parametrize(
    ("v1", "v2_error"),
    [
        ({"message": "timeout"}, "timeout"),  # v1 called it `message`
        ({}, "unknown error"),  # v1 without either
        ({"error": "kept", "message": "ignored"}, "kept"),  # an error given stays
    ],
)
def test_the_run_failed_upcaster_keeps_what_v1_sent(v1: dict[str, str], v2_error: str) -> None:
    upgraded = resolve("run_failed").upcast(dict(v1), 1)
    assert upgraded["error"] == v2_error
    if "error" in v1:
        assert upgraded["message"] == "ignored"  # untouched when error was given
