"""What every application service shares: loading, saving with bounded retries, dedup,
waiting for the timeline, and turning written events into envelopes with `seq`."""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, Recording
from pydantic import ValidationError

from application.ports import Clock, IdSource
from application.store import EventStore
from application.timeline import Timeline
from domain.envelope import Envelope, invalid_input
from domain.errors import ConcurrencyConflict, EventIdConflict, InvalidInput, NotFound
from domain.model import Applied, EventMeta, ZakopsAggregate
from domain.payloads import Payload
from domain.session import SYSTEM_LOG
from domain.taxonomy import resolve

A = TypeVar("A", bound=ZakopsAggregate)


@dataclass(frozen=True)
class Origin:
    """Who and what caused a command: optional metadata every command accepts."""

    event_id: str | None = None
    source: str = "api"
    actor: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


@dataclass(frozen=True)
class CommandResult:
    """The events a command stands for, as envelopes with `seq` and `position`.

    `written` is False when nothing new was stored: a repeated event_id (the original
    envelopes are returned) or a no-op (no envelopes)."""

    events: list[Envelope] = field(default_factory=list)
    written: bool = True


def stripes(count: int) -> list[threading.RLock]:
    return [threading.RLock() for _ in range(count)]


@dataclass
class Services:
    """The collaborators every service needs, wired by the composition root."""

    store: EventStore
    timeline: Timeline
    clock: Clock
    ids: IdSource
    retries: int = 10
    wait_timeout: float = 5.0
    single_writer: bool = False
    _write_lock: threading.Lock = field(default_factory=threading.Lock)
    _stripes: list[threading.Lock] = field(
        default_factory=lambda: [threading.Lock() for _ in range(64)]
    )

    @contextmanager
    def serialised(self, *keys: str) -> Iterator[None]:
        """Writers to the same aggregate in this process take turns (striped locks, taken
        in a fixed order), so they do not burn optimistic-concurrency retries on each other;
        writers in other processes are still kept apart by the store's version check."""
        stripes = sorted({zlib.crc32(key.encode()) % len(self._stripes) for key in keys})
        with ExitStack() as stack:
            for index in stripes:
                stack.enter_context(self._stripes[index])
            yield

    def write(self, *aggregates: ZakopsAggregate) -> list[Recording[UUID]]:
        """Save, then project what was saved, returning the recordings.

        With an embedded store (SQLite, memory) this process is the only writer, so saves
        and their projection are serialised here: writers queue on a lock instead of on
        the database's busy timeout, and every projection takes the fast path."""
        if not self.single_writer:
            return self._save_and_project(aggregates)
        with self._write_lock:
            return self._save_and_project(aggregates)

    def _save_and_project(self, aggregates: Sequence[ZakopsAggregate]) -> list[Recording[UUID]]:
        hook = self.timeline.inline([e for a in aggregates for e in a.pending_events])
        recordings = self.store.save(*aggregates, inline=hook)
        self.timeline.record(recordings, self.wait_timeout, hook)
        return recordings

    def backoff(self, attempt: int) -> None:
        """Sleep a little before retrying after an optimistic-concurrency conflict."""
        time.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))


class AggregateService(Generic[A]):
    aggregate: ClassVar[type[ZakopsAggregate]]
    creation_type: ClassVar[str] = ""
    commands: ClassVar[dict[str, str]] = {}  # taxonomy type -> aggregate method

    def __init__(self, deps: Services) -> None:
        self.deps = deps

    # -- metadata ------------------------------------------------------------------------
    def meta(
        self, origin: Origin | None, session_id: str | None = None, run_id: str | None = None
    ) -> EventMeta:
        origin = origin or Origin()
        return new_meta(self.deps.ids, origin, session_id, run_id)

    def create_from(
        self, payload: Payload, meta: EventMeta, given_id: bool = True
    ) -> CommandResult:
        """The aggregate's first event (`creation_type`); a repeat returns the original."""
        typed = resolve(self.creation_type).parse_payload(payload.model_dump())
        key = aggregate_key(self.aggregate.KIND, dict(typed), meta.session_id, meta.run_id)
        at = self.deps.clock.now()
        return self.create(
            key,
            lambda: self.make(self.creation_type, meta, at, typed),
            lambda aggregate: aggregate.created_again(meta, self.creation_type, typed),
            meta,
            given_id,
        )

    # -- deciding without saving (the emitter's batch path) ------------------------------
    def make(self, type_name: str, meta: EventMeta, at: datetime, payload: Payload) -> A:
        """Create the aggregate from its first event."""
        created: A = self.aggregate.create(meta, at, payload)  # type: ignore[attr-defined]  # every aggregate defines create(meta, at, payload)
        return created

    def decide(
        self,
        aggregate: A | None,
        key: str,
        type_name: str,
        payload: Payload,
        meta: EventMeta,
        at: datetime,
    ) -> tuple[A, Applied | None]:
        """Apply one command to `aggregate` (or create it), without saving."""
        if aggregate is None:
            if type_name != self.creation_type:
                raise NotFound(self.aggregate.KIND, key)
            made = self.make(type_name, meta, at, payload)
            return made, made.triggered()
        if type_name in self.commands:
            return aggregate, getattr(aggregate, self.commands[type_name])(meta, at, payload)
        return aggregate, aggregate.created_again(meta, type_name, payload)

    def try_load(self, key: str) -> A | None:
        try:
            return self.load(key)
        except NotFound:
            return None

    # -- loading -------------------------------------------------------------------------
    def load(self, key: str) -> A:
        aggregate_id: UUID = self.aggregate.id_for(key)  # type: ignore[attr-defined]  # every aggregate defines id_for
        try:
            found: A = self.deps.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(self.aggregate.KIND, key) from None
        return found

    def exists(self, key: str) -> bool:
        try:
            self.load(key)
        except NotFound:
            return False
        return True

    # -- commands ------------------------------------------------------------------------
    def apply(
        self, key: str, type_name: str, payload: Payload, meta: EventMeta, given_id: bool = True
    ) -> CommandResult:
        """Run the command for `type_name` on aggregate `key` (the emitter's entry point)."""
        method = self.commands[resolve(type_name).name]
        at = self.deps.clock.now()
        command = lambda agg: getattr(agg, method)(meta, at, payload)  # noqa: E731
        return self.change(key, command, meta, given_id)

    def run(
        self,
        key: str,
        type_name: str,
        data: dict[str, Any],
        origin: Origin | None,
        session_id: str | None = None,
        run_id: str | None = None,
    ) -> CommandResult:
        """Typed service methods end here: validate the payload, build the metadata, apply."""
        meta = self.meta(origin, session_id, run_id)
        given = origin is not None and origin.event_id is not None
        return self.apply(key, type_name, payload_of(type_name, data), meta, given)

    def change(
        self,
        key: str,
        command: Callable[[A], Applied | None],
        meta: EventMeta,
        given_id: bool = True,
    ) -> CommandResult:
        if given_id:
            self.check_unused(meta, key)
        with self.deps.serialised(f"{self.aggregate.KIND}:{key}"):
            return self._change(key, command)

    def _change(self, key: str, command: Callable[[A], Applied | None]) -> CommandResult:
        for attempt in range(self.deps.retries):
            aggregate = self.load(key)
            applied = command(aggregate)
            if applied is None:
                return CommandResult([], written=False)
            if not applied.new:
                return self.original(aggregate, applied)
            try:
                return self.commit(aggregate)
            except IntegrityError:
                self.deps.backoff(attempt)  # someone else wrote to it; reload, decide again
        raise ConcurrencyConflict(f"{self.aggregate.KIND} {key} kept changing; try again")

    def create(
        self,
        key: str,
        make: Callable[[], A],
        again: Callable[[A], Applied],
        meta: EventMeta,
        given_id: bool = True,
    ) -> CommandResult:
        if given_id:
            self.check_unused(meta, key)
        with self.deps.serialised(f"{self.aggregate.KIND}:{key}"):
            return self._create(key, make, again)

    def _create(
        self, key: str, make: Callable[[], A], again: Callable[[A], Applied]
    ) -> CommandResult:
        for attempt in range(self.deps.retries):
            try:
                existing = self.load(key)
            except NotFound:
                try:
                    return self.commit(make())
                except IntegrityError:
                    self.deps.backoff(attempt)  # created concurrently: answer as if existing
                    continue
            return self.original(existing, again(existing))
        raise ConcurrencyConflict(f"{self.aggregate.KIND} {key} kept changing; try again")

    def commit(self, *aggregates: ZakopsAggregate) -> CommandResult:
        recordings = self.deps.write(*aggregates)
        if not recordings:
            return CommandResult([], written=False)
        ids = [event_id_of(r.domain_event) for r in recordings]
        return CommandResult(self.envelopes(ids))

    def original(self, aggregate: ZakopsAggregate, applied: Applied) -> CommandResult:
        found = self.envelopes([applied.event_id])
        if not found:  # stored but not yet projected (another process wrote it)
            self.deps.timeline.wait(self.deps.store.head(), self.deps.wait_timeout)
            found = self.envelopes([applied.event_id])
        return CommandResult(found, written=False)

    def envelopes(self, event_ids: Sequence[str]) -> list[Envelope]:
        return self.deps.timeline.lookup(event_ids)

    def check_unused(self, meta: EventMeta, key: str) -> None:
        """A client-chosen event_id already used by another aggregate is a conflict.

        (Within one aggregate the aggregate itself answers with the original event.)"""
        for envelope in self.envelopes([meta.event_id]):
            owner = owner_of(envelope)
            if owner != (self.aggregate.KIND, key):
                raise EventIdConflict(meta.event_id, f"it is {envelope.type} of {owner[1]}")


KEY_FIELDS = {"deal": "deal_id", "action": "action_id", "job": "job_id"}


def aggregate_key(
    kind: str, payload: Mapping[str, Any], session_id: str | None, run_id: str | None
) -> str:
    """The external key of the aggregate an event of this kind belongs to."""
    if kind == "run":
        if run_id is None:
            raise InvalidInput("run_id", "is required for run-scoped events")
        return run_id
    if kind == "session":
        return session_id or SYSTEM_LOG
    return str(payload[KEY_FIELDS[kind]])


def owner_of(envelope: Envelope) -> tuple[str, str]:
    """(aggregate kind, key) of the aggregate that recorded an envelope."""
    kind = resolve(envelope.type).aggregate
    return kind, aggregate_key(kind, envelope.payload, envelope.session_id, envelope.run_id)


def new_meta(
    ids: IdSource, origin: Origin, session_id: str | None, run_id: str | None
) -> EventMeta:
    """Event metadata from a command's origin; bad values are our `InvalidInput`."""
    try:
        return EventMeta(
            event_id=origin.event_id or ids.new_id(),
            source=origin.source,
            session_id=session_id,
            run_id=run_id,
            correlation_id=origin.correlation_id,
            causation_id=origin.causation_id,
            actor=origin.actor,
        )
    except ValidationError as error:
        raise invalid_input(error) from None


def event_id_of(event: object) -> str:
    assert isinstance(event, ZakopsAggregate.Event)
    return event.meta.event_id


def payload_of(type_name: str, data: dict[str, Any]) -> Payload:
    """Validate a payload dict for a type, dropping keys whose value is None."""
    return resolve(type_name).parse_payload({k: v for k, v in data.items() if v is not None})
