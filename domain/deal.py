"""The Deal aggregate: a business opportunity moving through the legacy pipeline stages."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from domain import payloads as p
from domain.declared import Declared
from domain.errors import DealArchived, DealError, InvalidInput
from domain.model import (
    AggregateCreated,
    Applied,
    EventMeta,
    ZakopsAggregate,
    aggregate_uuid,
    decide,
    stamp_meta,
)

# The transitions the old workflow allowed (legacy/README.md); `archived` is terminal.
TRANSITIONS: dict[str, frozenset[str]] = {
    "inbound": frozenset({"screening", "junk", "archived"}),
    "screening": frozenset({"qualified", "junk", "archived"}),
    "qualified": frozenset({"loi", "junk", "archived"}),
    "loi": frozenset({"diligence", "qualified", "junk", "archived"}),
    "diligence": frozenset({"closing", "loi", "junk", "archived"}),
    "closing": frozenset({"portfolio", "diligence", "junk", "archived"}),
    "portfolio": frozenset({"archived"}),
    "junk": frozenset({"inbound", "archived"}),
    "archived": frozenset(),
}
STAGES: tuple[str, ...] = tuple(TRANSITIONS)


class Deal(ZakopsAggregate):
    TOPIC = "zakops.Deal"
    KIND: ClassVar[str] = "deal"
    KEY_FIELD: ClassVar[str] = "deal_id"  # the payload field naming the aggregate
    DEEP_STATE: ClassVar[frozenset[str]] = frozenset({"profile"})

    class Created(AggregateCreated, Declared):
        TOPIC: ClassVar[str] = "zakops.Deal.Created"
        TYPE: ClassVar[str] = "deal.created"
        payload: p.DealCreatedPayload

    class Updated(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Deal.Updated"
        TYPE: ClassVar[str] = "deal.updated"
        COMMAND: ClassVar[str | None] = "update"
        payload: p.DealUpdatedPayload

    class StageChanged(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Deal.StageChanged"
        TYPE: ClassVar[str] = "deal.stage_changed"
        COMMAND: ClassVar[str | None] = "move_to"
        payload: p.DealStageChangedPayload

    class ProfileEnriched(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Deal.ProfileEnriched"
        TYPE: ClassVar[str] = "deal.profile_enriched"
        COMMAND: ClassVar[str | None] = "enrich"
        payload: p.DealProfileEnrichedPayload

    class Archived(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Deal.Archived"
        TYPE: ClassVar[str] = "deal.archived"
        COMMAND: ClassVar[str | None] = "archive"
        payload: p.DealArchivedPayload

    @classmethod
    def create(cls, meta: EventMeta, at: datetime, payload: p.DealCreatedPayload) -> Deal:
        """A new deal in `payload.stage` (inbound unless imported at a later stage)."""
        if payload.stage == "archived":
            raise InvalidInput("payload.stage", "a deal cannot be created archived")
        stamped = stamp_meta(meta, Deal.Created.TYPE, payload.deal_id)
        return cls(id=cls.id_for(payload.deal_id), meta=stamped, timestamp=at, payload=payload)

    @staticmethod
    def id_for(deal_id: str) -> UUID:
        return aggregate_uuid("deal", deal_id)

    @event(Created)
    def __init__(self, id: UUID, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.deal_id: str = payload.deal_id
        self.name: str = payload.name
        self.display_name: str | None = payload.display_name
        self.stage: str = payload.stage
        self.profile: dict[str, Any] = {}
        self.updated_at: datetime = timestamp

    @property
    def key(self) -> str:
        return self.deal_id

    def _check_payload(self, payload: p.DealPayload, attempted: str) -> None:
        if payload.deal_id != self.deal_id:
            raise InvalidInput("payload.deal_id", f"{payload.deal_id!r} is not deal {self.deal_id}")
        if self.stage == "archived":
            raise DealArchived(self.deal_id, self.stage, attempted, "archived is terminal")

    # -- commands ------------------------------------------------------------------------
    def update(self, meta: EventMeta, at: datetime, payload: p.DealUpdatedPayload) -> Applied:
        return decide(
            self,
            Deal.Updated.TYPE,
            meta,
            at,
            payload,
            lambda: self._check_payload(payload, Deal.Updated.TYPE),
            self._updated,
        )

    def move_to(
        self, meta: EventMeta, at: datetime, payload: p.DealStageChangedPayload
    ) -> Applied | None:
        """Move to `payload.to_stage`; a move to the current stage is a no-op (None)."""
        applied = self.already_applied(meta)
        if applied is not None:
            return applied
        if payload.deal_id != self.deal_id:
            raise InvalidInput("payload.deal_id", f"{payload.deal_id!r} is not deal {self.deal_id}")
        if payload.to_stage == self.stage:
            return None  # the old workflow answered a same-stage request as an idempotent no-op
        self._check_payload(payload, Deal.StageChanged.TYPE)
        if payload.from_stage is not None and payload.from_stage != self.stage:
            why = f"the request expected it in {payload.from_stage}"
            raise DealError(self.deal_id, self.stage, Deal.StageChanged.TYPE, why)
        if payload.to_stage not in TRANSITIONS[self.stage]:
            allowed = ", ".join(sorted(TRANSITIONS[self.stage]))
            why = f"{self.stage} -> {payload.to_stage} is not allowed (allowed: {allowed})"
            raise DealError(self.deal_id, self.stage, Deal.StageChanged.TYPE, why)
        filled = payload.model_copy(update={"from_stage": self.stage})
        return decide(self, Deal.StageChanged.TYPE, meta, at, filled, lambda: None, self._moved)

    def enrich(
        self, meta: EventMeta, at: datetime, payload: p.DealProfileEnrichedPayload
    ) -> Applied:
        check = lambda: self._check_payload(payload, Deal.ProfileEnriched.TYPE)  # noqa: E731
        return decide(self, Deal.ProfileEnriched.TYPE, meta, at, payload, check, self._enriched)

    def archive(self, meta: EventMeta, at: datetime, payload: p.DealArchivedPayload) -> Applied:
        return decide(
            self,
            Deal.Archived.TYPE,
            meta,
            at,
            payload,
            lambda: self._check_payload(payload, Deal.Archived.TYPE),
            self._archived,
        )

    # -- event application ---------------------------------------------------------------
    @event(Updated)
    def _updated(self, meta: EventMeta, timestamp: datetime, payload: p.DealUpdatedPayload) -> None:
        if payload.name is not None:
            self.name = payload.name
        if payload.display_name is not None:
            self.display_name = payload.display_name
        self.updated_at = timestamp

    @event(StageChanged)
    def _moved(
        self, meta: EventMeta, timestamp: datetime, payload: p.DealStageChangedPayload
    ) -> None:
        self.stage = payload.to_stage
        self.updated_at = timestamp

    @event(ProfileEnriched)
    def _enriched(
        self, meta: EventMeta, timestamp: datetime, payload: p.DealProfileEnrichedPayload
    ) -> None:
        self.profile = {**self.profile, **payload.profile}
        self.updated_at = timestamp

    @event(Archived)
    def _archived(
        self, meta: EventMeta, timestamp: datetime, payload: p.DealArchivedPayload
    ) -> None:
        self.stage = "archived"
        self.updated_at = timestamp
