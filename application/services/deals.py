"""DealService: create, update, move stage, enrich profile, archive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from application.services.base import (
    AggregateService,
    CommandResult,
    Origin,
    payload_of,
)
from domain.deal import Deal
from domain.model import event_id_of

ID_BATCH = 500  # event ids per lookup while dating a deal's history


@dataclass(frozen=True)
class DealView:
    deal_id: str
    name: str
    display_name: str | None
    stage: str
    profile: dict[str, Any]
    updated_at: datetime
    version: int


class DealService(AggregateService[Deal]):
    aggregate = Deal

    def create_deal(
        self,
        deal_id: str,
        name: str,
        *,
        stage: str = "inbound",
        display_name: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        data = {"deal_id": deal_id, "name": name, "stage": stage, "display_name": display_name}
        given = origin is not None and origin.event_id is not None
        return self.create_from(payload_of(Deal.Created.TYPE, data), self.meta(origin), given)

    def update_deal(
        self,
        deal_id: str,
        *,
        name: str | None = None,
        display_name: str | None = None,
        fields: dict[str, Any] | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        data = {**(fields or {}), "deal_id": deal_id, "name": name, "display_name": display_name}
        return self.run(deal_id, Deal.Updated.TYPE, data, origin)

    def move_deal(
        self,
        deal_id: str,
        to_stage: str,
        *,
        from_stage: str | None = None,
        reason: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        """Move to a stage; a move to the current stage writes nothing (no events)."""
        data = {
            "deal_id": deal_id,
            "to_stage": to_stage,
            "from_stage": from_stage,
            "reason": reason,
        }
        return self.run(deal_id, Deal.StageChanged.TYPE, data, origin)

    def enrich_deal(
        self, deal_id: str, profile: dict[str, Any], *, origin: Origin | None = None
    ) -> CommandResult:
        data = {"deal_id": deal_id, "profile": profile}
        return self.run(deal_id, Deal.ProfileEnriched.TYPE, data, origin)

    def archive_deal(
        self, deal_id: str, *, reason: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self.run(deal_id, Deal.Archived.TYPE, {"deal_id": deal_id, "reason": reason}, origin)

    def get_deal(self, deal_id: str) -> DealView:
        return deal_view(self.load(deal_id))

    def get_deal_at(self, deal_id: str, position: int) -> DealView:
        """The deal's state as of a log `position` (deal events carry no session seq): its
        aggregate replayed up to its last event at or before that position."""
        version = self.version_at(deal_id, position)
        return deal_view(self.load_at(deal_id, version, f"at position {position}"))

    def version_at(self, deal_id: str, position: int) -> int:
        """How many of the deal's events were stored at or before `position`."""
        events = self.deps.store.events.get(self.id_for(deal_id))
        ids = [event_id_of(event) for event in events]
        positions = [
            envelope.position or 0
            for start in range(0, len(ids), ID_BATCH)
            for envelope in self.deps.view.by_ids(ids[start : start + ID_BATCH])
        ]
        return sum(1 for found in positions if found <= position)


def deal_view(deal: Deal) -> DealView:
    return DealView(
        deal.deal_id,
        deal.name,
        deal.display_name,
        deal.stage,
        dict(deal.profile),
        deal.updated_at,
        deal.version,
    )
