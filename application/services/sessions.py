"""SessionService: session-level `custom.<name>` and `system.*` events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.services.base import AggregateService, CommandResult, Origin
from domain.model import Applied, EventMeta
from domain.payloads import Payload
from domain.session import Session, session_key
from domain.taxonomy import resolve


class SessionService(AggregateService[Session]):
    aggregate = Session

    def make(self, type_name: str, meta: EventMeta, at: datetime, payload: Payload) -> Session:
        return Session.create(meta, at, type_name, payload)

    def decide(
        self,
        aggregate: Session | None,
        key: str,
        type_name: str,
        payload: Payload,
        meta: EventMeta,
        at: datetime,
    ) -> tuple[Session, Applied | None]:
        if aggregate is None:
            made = self.make(type_name, meta, at, payload)
            return made, made.triggered()
        return aggregate, aggregate.record(meta, at, type_name, payload)

    def record_from(
        self, type_name: str, payload: Payload, meta: EventMeta, given_id: bool = True
    ) -> CommandResult:
        """Sessions open implicitly with their first event; later events are recorded."""
        return self.handle(session_key(meta), type_name, payload, meta, given_id)

    def record(
        self,
        session_id: str | None,
        type_name: str,
        payload: dict[str, Any],
        *,
        origin: Origin | None = None,
    ) -> CommandResult:
        """Record a `custom.<name>` (or `system.*`) event in a session."""
        parsed = resolve(type_name).parse_payload(payload)
        given = origin is not None and origin.event_id is not None
        return self.record_from(type_name, parsed, self.meta(origin, session_id), given)
