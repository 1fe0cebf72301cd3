"""What every application service shares: one write loop (load, decide, group-commit, retry
on a conflict), idempotency by event id, and the envelopes a command answers with."""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from pydantic import ValidationError

from application.ports import Clock, IdSource, TimelineView
from application.store import EventStore
from application.writer import GroupWriter
from domain import catalog
from domain.envelope import Envelope, invalid_input
from domain.errors import ConcurrencyConflict, EventIdConflict, InvalidInput, NotFound
from domain.model import Applied, EventMeta, ZakopsAggregate, event_id_of
from domain.payloads import Payload
from domain.session import SYSTEM_LOG
from domain.taxonomy import resolve
from domain.text import storable_problem

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


@dataclass
class Services:
    """The collaborators every service needs, wired by the composition root."""

    store: EventStore
    view: TimelineView
    clock: Clock
    ids: IdSource
    retries: int = 10
    writer: GroupWriter = field(init=False)
    _stripes: list[threading.RLock] = field(
        default_factory=lambda: [threading.RLock() for _ in range(256)]
    )

    def __post_init__(self) -> None:
        self.writer = GroupWriter(self.store)

    @contextmanager
    def serialised(self, *keys: str) -> Iterator[None]:
        """Writers to the same aggregate in this process take turns (striped locks, taken
        in a fixed order), so two commands on one aggregate never share a group commit and
        do not burn optimistic-concurrency retries on each other; writers in other
        processes are kept apart by the store's version check."""
        if len(keys) == 1:  # the common case: one aggregate, one lock
            with self._stripes[zlib.crc32(keys[0].encode()) % len(self._stripes)]:
                yield
            return
        stripes = sorted({zlib.crc32(key.encode()) % len(self._stripes) for key in keys})
        with ExitStack() as stack:
            for index in stripes:
                stack.enter_context(self._stripes[index])
            yield

    def write(self, *aggregates: ZakopsAggregate, order: Sequence[str] = ()) -> list[Envelope]:
        """Store what these aggregates decided (one command or batch, one group commit; in
        the order of the event ids in `order` when given) and return the envelopes written,
        with `seq` and `position`."""
        return [e for e in self.writer.write(aggregates, order) if e is not None]

    def load(self, aggregate_id: UUID) -> Any:
        try:
            return self.store.load(aggregate_id)
        except AggregateNotFoundError:
            return None

    def backoff(self, attempt: int) -> None:
        """Sleep a little before retrying after an optimistic-concurrency conflict."""
        time.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))

    def stored(self, event_ids: Sequence[str]) -> dict[str, Envelope]:
        return {e.event_id: e for e in self.view.by_ids(list(event_ids))} if event_ids else {}


class AggregateService(Generic[A]):
    """Commands on one kind of aggregate. A subclass names its `aggregate`; the type of its
    first event and the map from each later type to the aggregate's command method are
    read from the aggregate's declared event classes (`domain.catalog`)."""

    aggregate: ClassVar[type[ZakopsAggregate]]
    creation_type: ClassVar[str] = ""  # "" when any declared type may open it (sessions)
    commands: ClassVar[dict[str, str]] = {}  # taxonomy type -> aggregate method

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        aggregate = cls.__dict__.get("aggregate")
        if aggregate is None:
            return
        cls.commands = catalog.commands(aggregate)
        created = catalog.creation_types(aggregate)
        cls.creation_type = created[0] if len(created) == 1 else ""

    def __init__(self, deps: Services) -> None:
        self.deps = deps

    # -- metadata ------------------------------------------------------------------------
    def meta(
        self, origin: Origin | None, session_id: str | None = None, run_id: str | None = None
    ) -> EventMeta:
        origin = origin or Origin()
        return new_meta(self.deps.ids, origin, session_id, run_id)

    # -- deciding (shared with the emitter's batches) --------------------------------------
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

    def key_of(self, type_name: str, payload: Payload, meta: EventMeta) -> str:
        return aggregate_key(self.aggregate.KIND, payload, meta.session_id, meta.run_id)

    # -- loading -------------------------------------------------------------------------
    def check_key(self, key: str) -> str:
        """A key no store can hold names no aggregate: refused as invalid input."""
        problem = storable_problem(key)
        if problem is not None:
            raise InvalidInput(f"{self.aggregate.KIND}_id", problem)
        return key

    def id_for(self, key: str) -> UUID:
        found: UUID = self.aggregate.id_for(self.check_key(key))  # type: ignore[attr-defined]  # every aggregate defines id_for
        return found

    def try_load(self, key: str) -> A | None:
        """The aggregate for a command (cached as saved, see EventStore.load)."""
        loaded: A | None = self.deps.load(self.id_for(key))
        return loaded

    def load(self, key: str) -> A:
        """The aggregate as stored now (for reads)."""
        try:
            found: A = self.deps.store.current(self.id_for(key))
        except AggregateNotFoundError:
            raise NotFound(self.aggregate.KIND, key) from None
        return found

    def load_at(self, key: str, version: int, when: str) -> A:
        """The aggregate as it was after its `version`-th event; `when` says in the error
        what moment the caller asked for (the aggregate did not exist yet at version 0)."""
        if version < 1:
            raise NotFound(self.aggregate.KIND, f"{key} {when}")
        try:
            found: A = self.deps.store.at_version(self.id_for(key), version)
        except AggregateNotFoundError:
            raise NotFound(self.aggregate.KIND, key) from None
        return found

    def exists(self, key: str) -> bool:
        try:
            self.load(key)
        except NotFound:
            return False
        return True

    # -- commands: the one write loop ----------------------------------------------------
    def create_from(
        self, payload: Payload, meta: EventMeta, given_id: bool = True
    ) -> CommandResult:
        """The aggregate's first event (`creation_type`); a repeat returns the original."""
        typed = resolve(self.creation_type).parse_payload(payload.model_dump())
        key = self.key_of(self.creation_type, typed, meta)
        return self.handle(key, self.creation_type, typed, meta, given_id)

    def apply(
        self, key: str, type_name: str, payload: Payload, meta: EventMeta, given_id: bool = True
    ) -> CommandResult:
        """Run the command for `type_name` on aggregate `key` (the emitter's entry point)."""
        return self.handle(key, resolve(type_name).name, payload, meta, given_id)

    def run(
        self,
        key: str,
        type_name: str,
        data: dict[str, Any],
        origin: Origin | None,
    ) -> CommandResult:
        """Typed service methods end here: validate the payload, build the metadata, apply
        (the aggregate stamps the run and session it belongs to)."""
        meta = self.meta(origin)
        given = origin is not None and origin.event_id is not None
        return self.apply(key, type_name, payload_of(type_name, data), meta, given)

    def handle(
        self, key: str, type_name: str, payload: Payload, meta: EventMeta, given_id: bool
    ) -> CommandResult:
        """One command through the one write loop (`execute`)."""
        return execute(self.deps, [Command(self, key, type_name, payload, meta, given_id)])[0]


@dataclass(frozen=True)
class Command:
    """One command, validated, for the write loop: the event `type_name` with its payload
    and metadata, for aggregate `key` of `service`'s kind. `given_id` says the caller chose
    the event id, so the event may be stored already (a repeat answers the original)."""

    service: AggregateService[Any]
    key: str
    type_name: str
    payload: Payload
    meta: EventMeta
    given_id: bool = True

    @property
    def slot(self) -> tuple[str, str]:
        return self.service.aggregate.KIND, self.key


def execute(deps: Services, commands: Sequence[Command]) -> list[CommandResult]:
    """The one write loop, for a single command and for a batch alike.

    The commands' aggregates are serialised in this process; each is loaded once (from the
    cache as this process saved it); every command is decided in order; what they decided
    is written in one transaction through the group commit, so a batch is all or nothing.
    When another writer got there first (a version conflict, or an event id taken
    meanwhile) the aggregates are reloaded and everything is decided again, a bounded
    number of times. A repeated event id answers the stored original (`written=False`)."""
    if not commands:
        return []
    owners: dict[str, tuple[str, str]] = {}
    for command in commands:
        if owners.setdefault(command.meta.event_id, command.slot) != command.slot:
            raise EventIdConflict(command.meta.event_id, "the batch uses it for two aggregates")
    keys = [f"{c.slot[0]}:{c.service.check_key(c.key)}" for c in commands]
    look_up_all = False  # after a conflict any id may be stored: look them all up
    with deps.serialised(*keys):
        for attempt in range(deps.retries):
            try:
                return _attempt(deps, commands, look_up_all)
            except IntegrityError:
                for command in commands:
                    deps.store.forget(command.service.id_for(command.key))
                look_up_all = True
                deps.backoff(attempt)
    if len(commands) == 1:
        kind, key = commands[0].slot
        raise ConcurrencyConflict(f"{kind} {key} kept changing; try again")
    raise ConcurrencyConflict("the batch's aggregates kept changing; try again")


def _attempt(deps: Services, commands: Sequence[Command], look_up_all: bool) -> list[CommandResult]:
    at = deps.clock.now()
    wanted = [c.meta.event_id for c in commands if c.given_id or look_up_all]
    stored = deps.stored(wanted) if wanted else {}
    loaded: dict[tuple[str, str], ZakopsAggregate | None] = {}
    decided: list[Applied | Envelope | None] = []
    triggered: list[list[str]] = []  # per command, the ids of the events it triggered
    for command in commands:
        slot = command.slot
        if slot not in loaded:
            loaded[slot] = command.service.try_load(command.key)
        aggregate = loaded[slot]
        original = stored.get(command.meta.event_id)
        if original is not None:  # stored before: answered from the store, not decided
            check_original(original, *slot, command.type_name, command.payload)
            decided.append(original)
            triggered.append([])
            continue
        before = len(aggregate.pending_events) if aggregate is not None else 0
        aggregate, applied = command.service.decide(
            aggregate, command.key, command.type_name, command.payload, command.meta, at
        )
        loaded[slot] = aggregate
        decided.append(applied)
        triggered.append([event_id_of(e) for e in aggregate.pending_events[before:]])
    changed = [a for a in loaded.values() if a is not None and a.pending_events]
    order = [event_id for ids in triggered for event_id in ids]  # the batch's own order
    written = {e.event_id: e for e in deps.write(*changed, order=order)} if changed else {}
    results = []
    for command, answer, ids in zip(commands, decided, triggered, strict=True):
        if answer is None:
            results.append(CommandResult([], written=False))  # a no-op
        elif isinstance(answer, Envelope):
            results.append(CommandResult([answer], written=False))  # stored before
        elif answer.new:
            results.append(CommandResult([written[i] for i in ids if i in written]))
        else:
            results.append(_repeat(deps, command, answer, written))
    return results


def _repeat(
    deps: Services, command: Command, applied: Applied, written: dict[str, Envelope]
) -> CommandResult:
    """A command whose event id its aggregate has applied before: the original (written
    by this batch, or stored), a conflict if its content differs."""
    original = written.get(applied.event_id) or deps.stored([applied.event_id]).get(
        applied.event_id
    )
    if original is None:  # not stored yet: it cannot be a repeat of a stored event
        raise ConcurrencyConflict(f"event {applied.event_id} is being written; try again")
    check_same(original, command.type_name, command.payload)
    return CommandResult([original], written=False)


def check_original(
    original: Envelope, kind: str, key: str, type_name: str, payload: Payload
) -> None:
    """A stored event whose id a command repeats must be of the same aggregate and the
    same event, else the command is an `EventIdConflict`."""
    owner = owner_of(original)
    if owner != (kind, key):
        raise EventIdConflict(original.event_id, f"it is {original.type} of {owner[1]}")
    check_same(original, type_name, payload)


def check_same(original: Envelope, type_name: str, payload: Payload) -> None:
    """A repeat must carry the same type and payload as the original (fields the aggregate
    derives itself, like a stage change's `from_stage`, aside)."""
    derived: frozenset[str] = getattr(payload, "DERIVED", frozenset())
    mine = payload.model_dump(mode="json", exclude=set(derived))
    theirs = {k: v for k, v in original.payload.items() if k not in derived}
    if original.type != type_name or mine != theirs:
        raise EventIdConflict(original.event_id, f"it was {original.type} with another payload")


KEY_FIELDS = {a.KIND: a.KEY_FIELD for a in catalog.AGGREGATES if a.KEY_FIELD is not None}


def aggregate_key(
    kind: str,
    payload: Payload | Mapping[str, Any],
    session_id: str | None,
    run_id: str | None,
) -> str:
    """The external key of the aggregate an event of this kind belongs to."""
    if kind == "run":
        if run_id is None:
            raise InvalidInput("run_id", "is required for run-scoped events")
        return run_id
    if kind == "session":
        return session_id or SYSTEM_LOG
    field = KEY_FIELDS[kind]
    if isinstance(payload, Payload):
        return str(getattr(payload, field))
    return str(payload[field])


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


def payload_of(type_name: str, data: dict[str, Any]) -> Payload:
    """Validate a payload dict for a type, dropping keys whose value is None."""
    return resolve(type_name).parse_payload({k: v for k, v in data.items() if v is not None})
