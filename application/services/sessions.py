"""SessionService: session-level `custom.<name>` and `system.*` events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from application.services.base import AggregateService, CommandResult, Origin
from domain.errors import ConcurrencyConflict
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
        key = session_key(meta)
        at = self.deps.clock.now()
        if given_id:
            self.check_unused(meta, key)
        with self.deps.serialised(f"session:{key}"):
            return self._record(key, type_name, payload, meta, at)

    def _record(
        self, key: str, type_name: str, payload: Payload, meta: EventMeta, at: datetime
    ) -> CommandResult:
        for attempt in range(self.deps.retries):
            if self.exists(key):
                command = lambda s: s.record(meta, at, type_name, payload)  # noqa: E731
                return self.change(key, command, meta, given_id=False)
            try:
                return self.commit(Session.create(meta, at, type_name, payload))
            except IntegrityError:
                self.deps.backoff(attempt)  # opened concurrently: record into it instead
        raise ConcurrencyConflict(f"session {key} kept changing; try again")

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
