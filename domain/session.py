"""The Session aggregate: session-level events that belong to no run, deal, action or job.

It records `custom.<name>` extension events and `system.*` events. System events that name
no session are kept on one well-known system log (`SYSTEM_LOG`) and carry no session_id, so
they get a global position but no session `seq`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from domain.errors import InvalidInput
from domain.model import (
    AggregateCreated,
    Applied,
    EventMeta,
    ZakopsAggregate,
    aggregate_uuid,
    decide,
    stamp_meta,
)
from domain.payloads import Payload, SystemErrorPayload, SystemPayload
from domain.taxonomy import resolve

SYSTEM_LOG = "__system__"


def session_key(meta: EventMeta) -> str:
    return meta.session_id or SYSTEM_LOG


class Session(ZakopsAggregate):
    TOPIC = "zakops.Session"
    KIND: ClassVar[str] = "session"
    # The `system.*` types and their payloads. Sessions record them (and `custom.<name>`)
    # with one event class, `Recorded` (or `Opened` when first), so they are declared here.
    RECORDS: ClassVar[dict[str, type[Payload]]] = {
        "system.startup": SystemPayload,
        "system.shutdown": SystemPayload,
        "system.health_check": SystemPayload,
        "system.error": SystemErrorPayload,
    }

    class Opened(AggregateCreated):
        """The session's first recorded event (its type is in `name`)."""

        TOPIC: ClassVar[str] = "zakops.Session.Opened"
        name: str
        key: str

        @property
        def event_type(self) -> str:
            return self.name

    class Recorded(ZakopsAggregate.Event):
        TOPIC: ClassVar[str] = "zakops.Session.Recorded"
        name: str

        @property
        def event_type(self) -> str:
            return self.name

    @staticmethod
    def check_type(type_name: str) -> str:
        spec = resolve(type_name)
        if spec.aggregate != "session":
            raise InvalidInput("type", f"{type_name!r} is not a session-level event type")
        return spec.name

    @classmethod
    def create(cls, meta: EventMeta, at: datetime, type_name: str, payload: Payload) -> Session:
        name = cls.check_type(type_name)
        key = session_key(meta)
        stamped = stamp_meta(meta, name, meta.session_id)
        return cls(
            id=cls.id_for(key), meta=stamped, timestamp=at, payload=payload, name=name, key=key
        )

    @staticmethod
    def id_for(key: str) -> UUID:
        return aggregate_uuid("session", key)

    @event(Opened)
    def __init__(
        self,
        id: UUID,
        meta: EventMeta,
        timestamp: datetime,
        payload: Any,
        name: str,
        key: str,
    ) -> None:
        self.session_key: str = key
        self.counts: dict[str, int] = {name: 1}

    @property
    def key(self) -> str:
        return self.session_key

    def default_correlation(self) -> str:
        return self.session_key

    def stamp(self, meta: EventMeta, type_name: str) -> EventMeta:
        if session_key(meta) != self.session_key:
            raise InvalidInput("session_id", f"{meta.session_id!r} is not {self.session_key}")
        return stamp_meta(meta, type_name, meta.session_id)

    def record(self, meta: EventMeta, at: datetime, type_name: str, payload: Payload) -> Applied:
        """Record one session-level event (`custom.<name>` or `system.*`)."""
        name = self.check_type(type_name)

        def apply(**kwargs: Any) -> None:
            self._recorded(name=name, **kwargs)

        return decide(self, name, meta, at, payload, lambda: None, apply)

    @event(Recorded)
    def _recorded(self, meta: EventMeta, timestamp: datetime, payload: Any, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
