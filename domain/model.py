"""Building blocks shared by the aggregates: event metadata, the event base, idempotency.

Events are frozen pydantic models that the library's aggregate machinery can mutate with
(`eventsourcing.domain.CanMutateAggregate`), so they validate on construction and serialise
without custom transcodings. Every event carries `meta` (who, why, which session/run) and a
typed `payload`; `timestamp` is the library's own field and is always passed in.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate
from pydantic import BaseModel, ConfigDict, Field

from domain.errors import AlreadyExists, EventIdConflict, InvalidInput
from domain.payloads import Payload
from domain.taxonomy import resolve

ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://zakops.example/event-core")


def aggregate_uuid(kind: str, key: str) -> UUID:
    """The stable aggregate id for an external key (`run`, `r-1` -> uuid5)."""
    return uuid5(ID_NAMESPACE, f"{kind}:{key}")


class EventMeta(BaseModel):
    """Metadata every event carries besides its payload (DESIGN: write path)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(min_length=1, max_length=100)
    source: str = Field(default="api", min_length=1, max_length=100)
    session_id: str | None = Field(default=None, min_length=1, max_length=64)
    run_id: str | None = Field(default=None, min_length=1, max_length=64)
    correlation_id: str | None = Field(default=None, min_length=1, max_length=64)
    causation_id: str | None = Field(default=None, min_length=1, max_length=64)
    actor: str | None = Field(default=None, min_length=1, max_length=255)
    schema_version: int = Field(default=1, ge=1)


class DomainEvent(BaseModel):
    """The library's three event attributes, as a frozen pydantic model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    originator_id: UUID
    originator_version: int
    timestamp: datetime


def fingerprint(type_name: str, payload: Payload) -> str:
    """What makes two events with the same event_id 'the same': type and payload."""
    derived: frozenset[str] = getattr(payload, "DERIVED", frozenset())
    data = payload.model_dump(mode="json", exclude=set(derived))
    body = json.dumps([type_name, data], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Applied:
    """The answer of a command: which event stands for it, and whether it is new.

    `new=False` means the event_id had been applied before: nothing was triggered and
    `version` is the original event's version in the aggregate's stream.
    """

    event_id: str
    version: int
    new: bool


class ZakopsAggregate(BaseAggregate[UUID]):
    """Base aggregate: remembers applied event ids so that repeated commands write nothing."""

    KIND: ClassVar[str] = "aggregate"

    @staticmethod
    def create_id(*_: Any, **__: Any) -> UUID:
        raise NotImplementedError("aggregates are created with an explicit id")

    class Event(DomainEvent, CanMutateAggregate[UUID]):
        TYPE: ClassVar[str] = ""
        meta: EventMeta
        payload: Payload

        @property
        def event_type(self) -> str:
            return self.TYPE

        def apply(self, aggregate: Any) -> None:
            # Runs after the decorated method, on trigger and on replay alike.
            aggregate.remember(self)

    DEEP_STATE: ClassVar[frozenset[str]] = frozenset()  # attributes holding nested JSON

    def __deepcopy__(self, memo: dict[int, Any]) -> ZakopsAggregate:
        # The library deep-copies aggregates out of its cache for every command. Our state is
        # made of immutable values and flat dicts of them (the applied ids grow with the
        # history), so copying the dicts and lists one level deep is enough and keeps a long
        # run cheap to copy; attributes named in DEEP_STATE hold nested JSON and are copied
        # all the way down.
        twin = object.__new__(type(self))
        for name, value in self.__dict__.items():
            if name in self.DEEP_STATE:
                value = copy.deepcopy(value, memo)
            elif isinstance(value, dict):
                value = dict(value)
            elif isinstance(value, list):
                value = list(value)
            twin.__dict__[name] = value
        return twin

    # -- idempotency ---------------------------------------------------------------------
    def remember(self, event: ZakopsAggregate.Event) -> None:
        seen: dict[str, list[Any]] = self.__dict__.setdefault("applied_ids", {})
        seen[event.meta.event_id] = [
            event.originator_version,
            fingerprint(event.event_type, event.payload),
        ]

    def already_applied(self, meta: EventMeta, type_name: str, payload: Payload) -> Applied | None:
        """The original event for a repeated event_id; a conflict if its content differs."""
        seen = self.__dict__.get("applied_ids", {}).get(meta.event_id)
        if seen is None:
            return None
        version, known = seen
        if known != fingerprint(type_name, payload):
            raise EventIdConflict(meta.event_id, f"{self.KIND} {self.key} holds another event")
        return Applied(meta.event_id, int(version), new=False)

    def created_again(self, meta: EventMeta, type_name: str, payload: Payload) -> Applied:
        """A create command for an existing aggregate: a duplicate, or `AlreadyExists`."""
        applied = self.already_applied(meta, type_name, payload)
        if applied is None:
            raise AlreadyExists(self.KIND, self.key)
        return applied

    @property
    def key(self) -> str:
        """The external id (run_id, deal_id, ...)."""
        raise NotImplementedError

    # -- helpers for commands ------------------------------------------------------------
    def stamp(self, meta: EventMeta, type_name: str) -> EventMeta:
        """Complete the metadata: schema version of the type and a default correlation."""
        return stamp_meta(meta, type_name, self.default_correlation())

    def default_correlation(self) -> str:
        return self.key

    def triggered(self) -> Applied:
        event = self.pending_events[-1]
        assert isinstance(event, ZakopsAggregate.Event)
        return Applied(event.meta.event_id, event.originator_version, new=True)


class AggregateCreated(ZakopsAggregate.Event, CanInitAggregate[UUID]):
    """Base of every aggregate's first event. Kept outside `ZakopsAggregate` because the
    library re-declares inherited nested events on each subclass, and those would lack the
    explicit TOPIC that makes stored history survive class renames."""

    originator_topic: str


def stamp_meta(meta: EventMeta, type_name: str, correlation: str | None) -> EventMeta:
    update: dict[str, Any] = {"schema_version": resolve(type_name).schema_version}
    if meta.correlation_id is None and correlation is not None:
        update["correlation_id"] = correlation
    return meta.model_copy(update=update)


def require_aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("timestamp", "must be timezone-aware (UTC)")
    return at


Check = Callable[[], None]  # raises when the command is refused
Apply = Callable[..., None]  # the private @event method that records the event


def decide(
    aggregate: ZakopsAggregate,
    type_name: str,
    meta: EventMeta,
    at: datetime,
    payload: Payload,
    check: Check,
    apply: Apply,
) -> Applied:
    """The shape of every command: dedup, check the invariant, trigger, report.

    The duplicate check comes first, so a repeated command is answered even when the
    aggregate has since moved to a state where the command itself would be refused.
    """
    applied = aggregate.already_applied(meta, type_name, payload)
    if applied is not None:
        return applied
    check()
    apply(meta=aggregate.stamp(meta, type_name), timestamp=require_aware(at), payload=payload)
    return aggregate.triggered()
