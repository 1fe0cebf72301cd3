"""Request and response models of the HTTP API (the envelope is the domain's own)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from application.ports import StateRow
from application.services.base import CommandResult, Origin
from domain.envelope import Envelope

KEY_PATTERN = r"^[^\s/]+$"
Key = Field(min_length=1, max_length=64, pattern=KEY_PATTERN)
OptKey = Field(default=None, min_length=1, max_length=64, pattern=KEY_PATTERN)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommandIn(In):
    """Optional metadata every command accepts."""

    source: str = Field(default="api", min_length=1, max_length=100)
    actor: str | None = Field(default=None, max_length=255)
    correlation_id: str | None = Field(default=None, min_length=1, max_length=64)
    causation_id: str | None = Field(default=None, min_length=1, max_length=64)

    def origin(self, idempotency_key: str | None) -> Origin:
        return Origin(
            idempotency_key, self.source, self.actor, self.correlation_id, self.causation_id
        )


class EmitIn(In):
    """One event to emit. `timestamp`, `seq` and `position` are assigned by the server."""

    type: str = Field(min_length=1, max_length=100, examples=["run_started"])
    payload: Any = Field(description="a JSON object", examples=[{"phase": "plan"}])
    session_id: str | None = Field(default=None, min_length=1, max_length=64)
    run_id: str | None = Field(default=None, min_length=1, max_length=64)
    event_id: str | None = Field(default=None, min_length=1, max_length=100)
    source: str = Field(default="api", min_length=1, max_length=100)
    correlation_id: str | None = Field(default=None, min_length=1, max_length=64)
    causation_id: str | None = Field(default=None, min_length=1, max_length=64)
    actor: str | None = Field(default=None, max_length=255)


class EmitBatchIn(In):
    events: list[EmitIn] = Field(min_length=1, max_length=1000)


class CommandOut(BaseModel):
    """The envelopes a command stands for; `written` is false for repeats and no-ops."""

    events: list[Envelope]
    written: bool

    @classmethod
    def of(cls, result: CommandResult) -> CommandOut:
        return cls(events=result.events, written=result.written)


class EventsPage(BaseModel):
    events: list[Envelope]
    next_since_seq: int | None = Field(description="pass as since_seq for the next page")


class EventList(BaseModel):
    events: list[Envelope]
    count: int


class CorrelationPage(BaseModel):
    events: list[Envelope]
    count: int
    next_offset: int | None


class StatsOut(BaseModel):
    since: datetime | None
    total: int
    by_type: dict[str, int]
    by_domain: dict[str, int]


class StateOut(BaseModel):
    kind: str
    key: str
    status: str
    session_id: str | None
    deal_id: str | None
    updated_at: datetime
    last_position: int
    data: dict[str, Any]

    @classmethod
    def of(cls, row: StateRow) -> StateOut:
        return cls(
            kind=row.kind,
            key=row.key,
            status=row.status,
            session_id=row.session_id,
            deal_id=row.deal_id,
            updated_at=row.updated_at,
            last_position=row.last_position,
            data=row.data,
        )


class StatePage(BaseModel):
    items: list[StateOut]
    total: int
    next_offset: int | None


class SessionOut(BaseModel):
    session_id: str
    event_count: int
    last_seq: int
    runs: list[StateOut]


class Health(BaseModel):
    status: str
    store: str | None = None
    position: int | None = None
    projections: dict[str, dict[str, float]] | None = None
    detail: str | None = None


class RetryOut(BaseModel):
    """What a retry of a projection's parked events did."""

    name: str
    written: int
    still_parked: int
