"""The emitter: `emit(type, payload, ...)` for producers that speak in envelopes.

It validates against the taxonomy and the envelope rules, takes `run_id` (and the session)
from `run_context` when not given, generates an `event_id` when missing, and routes each
event to its aggregate's command: run-scoped types to the Run, `deal.*` to the Deal,
`action.*` to the Action, `worker.*` to the Job, `custom.*` and `system.*` to the Session.
A repeated `event_id` returns the original envelope (`created=False`).

A batch is decided as a whole and saved in one transaction: every aggregate it touches is
loaded once, all commands run in order, and one `save` writes the lot, so a batch that
contains a refused or invalid event writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError

from application.services.base import (
    AggregateService,
    Origin,
    Services,
    aggregate_key,
    check_original,
    check_same,
    knows,
    new_meta,
)
from domain.envelope import Envelope
from domain.errors import ConcurrencyConflict, EventIdConflict, InvalidInput
from domain.model import Applied, EventMeta, ZakopsAggregate
from domain.payloads import Payload
from domain.taxonomy import EventTypeSpec, resolve

_context: ContextVar[tuple[str | None, str | None]] = ContextVar(
    "zakops_run_context", default=(None, None)
)


@contextmanager
def run_context(run_id: str, session_id: str | None = None) -> Iterator[None]:
    """Events emitted inside this block default to this run (and session)."""
    token = _context.set((run_id, session_id))
    try:
        yield
    finally:
        _context.reset(token)


def current_run() -> tuple[str | None, str | None]:
    return _context.get()


@dataclass(frozen=True)
class EmitRequest:
    type: str
    payload: Any
    session_id: str | None = None
    run_id: str | None = None
    event_id: str | None = None
    source: str = "api"
    correlation_id: str | None = None
    causation_id: str | None = None
    actor: str | None = None


@dataclass(frozen=True)
class Emitted:
    """`envelope` is None for a no-op (a deal moved to the stage it is in)."""

    envelope: Envelope | None
    created: bool


@dataclass(frozen=True)
class _Decided:
    spec: EventTypeSpec
    key: str
    payload: Payload
    meta: EventMeta
    given_id: bool


class Emitter:
    def __init__(self, deps: Services, services: dict[str, AggregateService[Any]]) -> None:
        self.deps = deps
        self.services = services  # aggregate kind -> service

    def emit(
        self,
        type: str,
        payload: Any,
        *,
        session_id: str | None = None,
        run_id: str | None = None,
        event_id: str | None = None,
        source: str = "api",
        correlation_id: str | None = None,
        causation_id: str | None = None,
        actor: str | None = None,
    ) -> Emitted:
        request = EmitRequest(
            type, payload, session_id, run_id, event_id, source, correlation_id, causation_id, actor
        )
        return self.emit_batch([request])[0]

    def emit_batch(self, requests: Sequence[EmitRequest]) -> list[Emitted]:
        """Emit many events at once: all or nothing, one transaction."""
        if not requests:
            return []
        decided = [self._validate_at(i, r, len(requests)) for i, r in enumerate(requests)]
        owners: dict[str, tuple[str, str]] = {}
        for item in decided:
            slot = owners.setdefault(item.meta.event_id, (item.spec.aggregate, item.key))
            if slot != (item.spec.aggregate, item.key):
                raise EventIdConflict(item.meta.event_id, "the batch uses it for two aggregates")
        keys = [f"{item.spec.aggregate}:{item.key}" for item in decided]
        with self.deps.serialised(*keys):
            for attempt in range(self.deps.retries):
                try:
                    return self._write(decided)
                except IntegrityError:
                    for item in decided:  # someone else wrote first: reload and decide again
                        self.deps.store.forget(self.services[item.spec.aggregate].id_for(item.key))
                    self.deps.backoff(attempt)
        raise ConcurrencyConflict("the batch's aggregates kept changing; try again")

    def _write(self, decided: list[_Decided]) -> list[Emitted]:
        at = self.deps.clock.now()
        stored = self.deps.stored([d.meta.event_id for d in decided if d.given_id])
        loaded: dict[tuple[str, str], ZakopsAggregate | None] = {}
        answers: list[Applied | Envelope | None] = []
        for item in decided:
            service = self.services[item.spec.aggregate]
            slot = (item.spec.aggregate, item.key)
            if slot not in loaded:
                loaded[slot] = service.try_load(item.key)
            original = stored.get(item.meta.event_id) if item.given_id else None
            if original is not None and not knows(loaded[slot], item.meta.event_id):
                check_original(original, *slot, item.spec.name, item.payload)
                answers.append(original)
                continue
            aggregate, applied = service.decide(
                loaded[slot], item.key, item.spec.name, item.payload, item.meta, at
            )
            loaded[slot] = aggregate
            answers.append(applied)
        changed = [agg for agg in loaded.values() if agg is not None and agg.pending_events]
        written = {e.event_id: e for e in self.deps.write(*changed)} if changed else {}
        return [self._answer(d, a, written) for d, a in zip(decided, answers, strict=True)]

    def _answer(
        self, item: _Decided, answer: Applied | Envelope | None, written: dict[str, Envelope]
    ) -> Emitted:
        if answer is None:
            return Emitted(None, created=False)  # a no-op
        if isinstance(answer, Envelope):
            return Emitted(answer, created=False)  # a repeat of a stored event
        if answer.new:
            return Emitted(written[answer.event_id], created=True)
        original = written.get(answer.event_id)  # repeated within this batch
        if original is None:
            original = self.deps.stored([answer.event_id]).get(answer.event_id)
        if original is None:
            raise ConcurrencyConflict(f"event {answer.event_id} is being written; try again")
        check_same(original, item.spec.name, item.payload)
        return Emitted(original, created=False)

    def _validate_at(self, index: int, request: EmitRequest, count: int) -> _Decided:
        """`validate`, naming the event's place in a batch (`events.2.session_id`)."""
        try:
            return self.validate(request)
        except InvalidInput as error:
            if count == 1:
                raise
            error.field = f"events.{index}.{error.field}"
            error.args = (f"{error.field}: {error.reason}",)
            raise

    def validate(self, request: EmitRequest) -> _Decided:
        """Taxonomy, envelope and payload rules; defaults from the run context."""
        spec = resolve(request.type)
        payload = spec.parse_payload(request.payload)
        context_run, context_session = current_run()
        run_id, session_id = request.run_id, request.session_id
        if spec.run_scoped:
            run_id = run_id or context_run
            session_id = session_id or (context_session if run_id == context_run else None)
            if run_id is None:
                raise InvalidInput("run_id", f"is required for the run-scoped type {spec.name!r}")
            if spec.name == "run_created" and session_id is None:
                raise InvalidInput("session_id", "is required for run_created")
        elif spec.domain == "custom" and session_id is None:
            raise InvalidInput(
                "session_id", f"is required for {spec.name!r}: custom.* events are session-level"
            )
        origin = Origin(
            request.event_id,
            request.source,
            request.actor,
            request.correlation_id,
            request.causation_id,
        )
        meta = new_meta(self.deps.ids, origin, session_id, run_id)
        key = aggregate_key(spec.aggregate, payload, session_id, run_id)
        return _Decided(spec, key, payload, meta, request.event_id is not None)
