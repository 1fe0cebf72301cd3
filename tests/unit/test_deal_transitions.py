"""Deal stages: the legacy transition table, same-stage no-op, archived terminal."""

from __future__ import annotations

import pytest

from domain import payloads as p
from domain.deal import Deal
from domain.errors import DealArchived, DealError, InvalidInput
from tests.unit.builders import AT, deal_in, meta, new_deal, recorded, snapshot_state

# legacy/README.md, written out independently of domain/deal.py
LEGACY = {
    "inbound": {"screening", "junk", "archived"},
    "screening": {"qualified", "junk", "archived"},
    "qualified": {"loi", "junk", "archived"},
    "loi": {"diligence", "qualified", "junk", "archived"},
    "diligence": {"closing", "loi", "junk", "archived"},
    "closing": {"portfolio", "diligence", "junk", "archived"},
    "portfolio": {"archived"},
    "junk": {"inbound", "archived"},
    "archived": set(),
}
PAIRS = [(a, b) for a in LEGACY for b in LEGACY]


def move(deal: Deal, to: str, **extra: str) -> object:
    payload = p.DealStageChangedPayload.model_validate(
        {"deal_id": deal.deal_id, "to_stage": to, **extra}
    )
    return deal.move_to(meta(), AT, payload)


@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_every_stage_pair(current: str, target: str) -> None:
    deal = deal_in(current)
    before, pending = snapshot_state(deal), len(deal.pending_events)
    if target == current:
        assert move(deal, target) is None
        assert len(deal.pending_events) == pending
    elif target in LEGACY[current]:
        move(deal, target)
        assert deal.stage == target
        event = recorded(deal)[-1]
        assert event.event_type == "deal.stage_changed"
        assert event.payload.model_dump()["from_stage"] == current
    else:
        error = DealArchived if current == "archived" else DealError
        with pytest.raises(error) as refused:
            move(deal, target)
        assert refused.value.current == current
        assert refused.value.attempted == "deal.stage_changed"
        assert snapshot_state(deal) == before


def test_pipeline_to_archive() -> None:
    deal = new_deal()
    for stage in ["screening", "qualified", "loi"]:
        move(deal, stage)
    deal.archive(meta(), AT, p.DealArchivedPayload(deal_id="DL-0001", reason="lost"))
    assert deal.stage == "archived"
    types = [e.event_type for e in recorded(deal)]
    assert types == ["deal.created", *["deal.stage_changed"] * 3, "deal.archived"]


@pytest.mark.parametrize("verb", ["update", "enrich", "archive"])
def test_archived_is_terminal(verb: str) -> None:
    deal = deal_in("archived")
    models = {
        "update": p.DealUpdatedPayload,
        "enrich": p.DealProfileEnrichedPayload,
        "archive": p.DealArchivedPayload,
    }
    with pytest.raises(DealArchived):
        getattr(deal, verb)(meta(), AT, models[verb](deal_id="DL-0001"))


def test_update_and_enrich_change_state() -> None:
    deal = new_deal()
    deal.update(meta(), AT, p.DealUpdatedPayload(deal_id="DL-0001", name="Acme Inc"))
    deal.enrich(meta(), AT, p.DealProfileEnrichedPayload(deal_id="DL-0001", profile={"a": 1}))
    deal.enrich(meta(), AT, p.DealProfileEnrichedPayload(deal_id="DL-0001", profile={"b": 2}))
    assert deal.name == "Acme Inc"
    assert deal.profile == {"a": 1, "b": 2}


def test_stale_from_stage_is_refused() -> None:
    deal = deal_in("screening")
    with pytest.raises(DealError, match="expected it in inbound"):
        move(deal, "qualified", from_stage="inbound")


def test_deal_correlation_is_the_deal_id() -> None:
    deal = new_deal()
    assert recorded(deal)[0].meta.correlation_id == "DL-0001"


def test_deal_ids_are_at_most_20_characters_and_cannot_start_archived() -> None:
    with pytest.raises(ValueError, match="20 characters"):
        p.DealCreatedPayload(deal_id="D" * 21, name="x")
    with pytest.raises(InvalidInput, match="archived"):
        new_deal(stage="archived")


def test_payload_for_another_deal_is_refused() -> None:
    deal = new_deal()
    with pytest.raises(InvalidInput, match="deal_id"):
        deal.update(meta(), AT, p.DealUpdatedPayload(deal_id="DL-9999"))
