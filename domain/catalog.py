"""Every aggregate and the event types its event classes declare: the one source of truth.

The taxonomy's `REGISTRY` (hence the seed's enums), the state summaries' status maps and the
services' command maps are derived from here; `domain/__init__` registers the types, so
they are known as soon as any part of the domain is imported. A new event type is a nested
`Declared` event class (with its command and mutator) on its aggregate plus its payload; a
new aggregate is added to `AGGREGATES` (the store snapshots every catalogued aggregate, and
its service reads its creation type and command map from here).
"""

from __future__ import annotations

from typing import cast, get_args

from domain.action import Action
from domain.deal import Deal
from domain.declared import Declared
from domain.job import Job
from domain.model import AggregateCreated, ZakopsAggregate
from domain.payloads import Payload
from domain.run import Run
from domain.session import Session
from domain.taxonomy import AggregateKind, Domain, EventTypeSpec

AGGREGATES: tuple[type[ZakopsAggregate], ...] = (Run, Deal, Action, Job, Session)


class DeclarationError(TypeError):
    """An event class declares something the catalog cannot register."""


def event_classes(aggregate: type[ZakopsAggregate]) -> list[type[Declared]]:
    """The aggregate's nested event classes that declare a type, in declaration order."""
    found: list[type[Declared]] = []
    for value in vars(aggregate).values():
        if isinstance(value, type) and issubclass(value, Declared):
            if not issubclass(value, ZakopsAggregate.Event):
                raise DeclarationError(f"{value.__qualname__} is Declared but not an event")
            found.append(value)
    return found


def payload_model(cls: type[Declared]) -> type[Payload]:
    """The payload schema of an event class: the annotation of its `payload` field."""
    assert issubclass(cls, ZakopsAggregate.Event)
    model = cls.model_fields["payload"].annotation
    if not (isinstance(model, type) and issubclass(model, Payload)):
        raise DeclarationError(f"{cls.__qualname__}.payload must be annotated with a Payload")
    return model


def _domain(name: str, declared: str | None, kind: str) -> Domain:
    domain = declared or (name.split(".", 1)[0] if "." in name else kind)
    if domain not in get_args(Domain):
        raise DeclarationError(f"{name}: {domain!r} is not a domain of the taxonomy")
    return cast(Domain, domain)


def _kind(aggregate: type[ZakopsAggregate]) -> AggregateKind:
    if aggregate.KIND not in get_args(AggregateKind):
        raise DeclarationError(f"{aggregate.__name__}.KIND {aggregate.KIND!r} is not known")
    return cast(AggregateKind, aggregate.KIND)


def spec_of(aggregate: type[ZakopsAggregate], cls: type[Declared]) -> EventTypeSpec:
    """The taxonomy entry an event class declares."""
    kind = _kind(aggregate)
    return EventTypeSpec(
        name=cls.TYPE,
        domain=_domain(cls.TYPE, cls.DOMAIN, kind),
        aggregate=kind,
        payload_model=payload_model(cls),
        schema_version=cls.SCHEMA_VERSION,
        upcasters=dict(cls.UPCASTERS),
    )


def session_specs() -> list[EventTypeSpec]:
    """The `system.*` types: sessions record them (and `custom.<name>`) with one event class,
    so they are declared as a map on the aggregate (`Session.RECORDS`)."""
    return [
        EventTypeSpec(name, _domain(name, None, "session"), "session", model)
        for name, model in Session.RECORDS.items()
    ]


def declared_specs() -> list[EventTypeSpec]:
    """Every registered type, once, in declaration order.

    A type recorded by two classes of one aggregate (a job's first `worker.job_queued` and
    its requeue) must declare the same spec in both; a type in two aggregates is an error."""
    specs: dict[str, EventTypeSpec] = {}
    declared = [(a, spec_of(a, cls)) for a in AGGREGATES for cls in event_classes(a)]
    for aggregate, spec in declared:
        known = specs.setdefault(spec.name, spec)
        if known != spec:
            raise DeclarationError(f"{spec.name} is declared twice, differently ({aggregate})")
    for spec in session_specs():
        if specs.setdefault(spec.name, spec) is not spec:
            raise DeclarationError(f"{spec.name} is declared twice")
    return list(specs.values())


def declared_aliases() -> dict[str, str]:
    """Old spellings -> the type they are stored as (`agent.run_started` -> run_started)."""
    aliases: dict[str, str] = {}
    for aggregate in AGGREGATES:
        for cls in event_classes(aggregate):
            for alias in cls.ALIASES:
                if aliases.setdefault(alias, cls.TYPE) != cls.TYPE:
                    raise DeclarationError(f"{alias} is an old spelling of two types")
    return aliases


def creation_types(aggregate: type[ZakopsAggregate]) -> list[str]:
    """The types of the aggregate's declared `AggregateCreated` classes (a session declares
    none: its first event may be of any session-level type)."""
    return [cls.TYPE for cls in event_classes(aggregate) if issubclass(cls, AggregateCreated)]


def creation_type(aggregate: type[ZakopsAggregate]) -> str:
    """The type of the aggregate's first event (its one `AggregateCreated` class)."""
    created = creation_types(aggregate)
    if len(created) != 1:
        raise DeclarationError(f"{aggregate.__name__} declares {len(created)} creation events")
    return created[0]


def commands(aggregate: type[ZakopsAggregate]) -> dict[str, str]:
    """type -> the aggregate method that records it (the services route by this map)."""
    return {cls.TYPE: cls.COMMAND for cls in event_classes(aggregate) if cls.COMMAND is not None}


def statuses(aggregate: type[ZakopsAggregate]) -> dict[str, str]:
    """type -> the status the listings show after it (types that set one)."""
    return {cls.TYPE: cls.STATUS for cls in event_classes(aggregate) if cls.STATUS is not None}


def verifications() -> dict[str, str]:
    """verify_* type -> the run's verification after it."""
    return {
        cls.TYPE: cls.VERIFICATION for cls in event_classes(Run) if cls.VERIFICATION is not None
    }
