"""Building blocks shared by the aggregates: event metadata, the event base, idempotency.

Events are frozen pydantic models that the library's aggregate machinery can mutate with
(`eventsourcing.domain.CanMutateAggregate`), so they validate on construction and serialise
without custom transcodings. Every event carries `meta` (who, why, which session/run) and a
typed `payload`; `timestamp` is the library's own field and is always passed in.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator

from domain.errors import AlreadyExists, InvalidInput
from domain.payloads import Payload
from domain.taxonomy import resolve
from domain.text import storable_problem

ID_NAMESPACE = uuid5(NAMESPACE_URL, "https://zakops.example/event-core")


@functools.lru_cache(maxsize=65_536)
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

    @field_validator(
        "event_id", "source", "session_id", "run_id", "correlation_id", "causation_id", "actor"
    )
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        problem = None if value is None else storable_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class DomainEvent(BaseModel):
    """The library's three event attributes, as a frozen pydantic model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    originator_id: UUID
    originator_version: int
    timestamp: datetime


@dataclass(frozen=True)
class Applied:
    """The answer of a command: which event stands for it, and whether it is new.

    `new=False` means the event_id had been applied before: nothing was triggered and
    `version` is the original event's version in the aggregate's stream. Whether the repeat
    carries the same content is checked against the stored original by the application
    (which fetches it anyway to answer with it).
    """

    event_id: str
    version: int
    new: bool


RECENT_IDS = 100  # event ids an aggregate remembers; the store's unique event_id has the rest


class ZakopsAggregate(BaseAggregate[UUID]):
    """Base aggregate: remembers its most recent event ids so that a repeated command writes
    nothing. The window is bounded, so state and snapshots do not grow with history; older
    ids are answered by the store's unique `event_id`."""

    KIND: ClassVar[str] = "aggregate"
    # The payload field that names the aggregate (deal_id, ...); runs and sessions are named
    # by the envelope (run_id, session_id) instead.
    KEY_FIELD: ClassVar[str | None] = None
    recent_ids: dict[str, int]  # event_id -> version, the newest RECENT_IDS (see remember)

    @staticmethod
    def create_id(*_: Any, **__: Any) -> UUID:
        raise NotImplementedError("aggregates are created with an explicit id")

    class Event(DomainEvent, CanMutateAggregate[UUID]):
        TYPE: ClassVar[str] = ""
        meta: EventMeta
        # As any: events typed with the base class (session and system events) carry a
        # payload of a subclass, whose declared fields must be stored too.
        payload: SerializeAsAny[Payload]

        @property
        def event_type(self) -> str:
            return self.TYPE

        def apply(self, aggregate: Any) -> None:
            # Runs after the decorated method, on trigger and on replay alike.
            aggregate.remember(self)

    DEEP_STATE: ClassVar[frozenset[str]] = frozenset()  # attributes holding nested JSON

    def __deepcopy__(self, memo: dict[int, Any]) -> ZakopsAggregate:
        # The library deep-copies aggregates out of its cache for every command. Our state is
        # made of immutable values and flat dicts of them, so copying the dicts and lists one
        # level deep is enough; attributes named in DEEP_STATE hold nested JSON and are
        # copied all the way down.
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
        self.__dict__.pop("applied_ids", None)  # the unbounded map of older snapshots
        seen: dict[str, int] = self.__dict__.setdefault("recent_ids", {})
        seen[event.meta.event_id] = event.originator_version
        if len(seen) > RECENT_IDS:
            del seen[next(iter(seen))]  # the oldest (dicts keep insertion order)

    def already_applied(self, meta: EventMeta) -> Applied | None:
        """The original event for an event_id among the recent ones (None otherwise)."""
        version = self.__dict__.get("recent_ids", {}).get(meta.event_id)
        if version is None:
            return None
        return Applied(meta.event_id, int(version), new=False)

    def created_again(self, meta: EventMeta, type_name: str, payload: Payload) -> Applied:
        """A create command for an existing aggregate: a duplicate, or `AlreadyExists`."""
        applied = self.already_applied(meta)
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


def event_id_of(event: object) -> str:
    """The event id of one of our events (as the library hands them out, untyped)."""
    assert isinstance(event, ZakopsAggregate.Event)
    return event.meta.event_id


class AggregateCreated(ZakopsAggregate.Event, CanInitAggregate[UUID]):
    """Base of every aggregate's first event. Kept outside `ZakopsAggregate` because the
    library re-declares inherited nested events on each subclass, and those would lack the
    explicit TOPIC that makes stored history survive class renames."""

    originator_topic: str


def stamp_meta(meta: EventMeta, type_name: str, correlation: str | None) -> EventMeta:
    """`meta` with its type's schema version and, when it names none, the default
    correlation; the same object when it already carries both (no copy)."""
    update: dict[str, Any] = {}
    version = resolve(type_name).schema_version
    if meta.schema_version != version:
        update["schema_version"] = version
    if meta.correlation_id is None and correlation is not None:
        update["correlation_id"] = correlation
    return meta.model_copy(update=update) if update else meta


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
    applied = aggregate.already_applied(meta)
    if applied is not None:
        return applied
    check()
    apply(meta=aggregate.stamp(meta, type_name), timestamp=require_aware(at), payload=payload)
    return aggregate.triggered()
