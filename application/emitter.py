"""The emitter: `emit(type, payload, ...)` for producers that speak in envelopes.

It validates against the taxonomy and the envelope rules, takes `run_id` (and the session)
from `run_context` when not given, generates an `event_id` when missing, and routes each
event to its aggregate's command: run-scoped types to the Run, `deal.*` to the Deal,
`action.*` to the Action, `worker.*` to the Job, `custom.*` and `system.*` to the Session.
A repeated `event_id` returns the original envelope (`created=False`).

A batch goes through the services' one write loop (`application.services.base.execute`) as
a whole: every aggregate it touches is loaded once, all commands run in order, and one
transaction writes the lot, so a batch that contains a refused or invalid event writes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from application.services.base import (
    AggregateService,
    Command,
    CommandResult,
    Origin,
    Services,
    aggregate_key,
    execute,
    new_meta,
)
from domain.envelope import Envelope
from domain.errors import InvalidInput
from domain.taxonomy import resolve

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
        commands = [self._validate_at(i, r, len(requests)) for i, r in enumerate(requests)]
        return [_emitted(c, r) for c, r in zip(commands, execute(self.deps, commands), strict=True)]

    def _validate_at(self, index: int, request: EmitRequest, count: int) -> Command:
        """`validate`, naming the event's place in a batch (`events.2.session_id`)."""
        try:
            return self.validate(request)
        except InvalidInput as error:
            if count == 1:
                raise
            error.field = f"events.{index}.{error.field}"
            error.args = (f"{error.field}: {error.reason}",)
            raise

    def validate(self, request: EmitRequest) -> Command:
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
        service = self.services[spec.aggregate]
        return Command(service, key, spec.name, payload, meta, request.event_id is not None)


def _emitted(command: Command, result: CommandResult) -> Emitted:
    """A command's result as the emitter answers it: the envelope of its own event id."""
    mine = [e for e in result.events if e.event_id == command.meta.event_id]
    envelope = mine[0] if mine else (result.events[0] if result.events else None)
    return Emitted(envelope, created=result.written and envelope is not None)
