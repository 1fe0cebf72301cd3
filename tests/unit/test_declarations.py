"""The declarations agree with each other: every event type is declared once, on an event class
of one aggregate, and everything derived from the declarations (the registry, the services'
command maps, the status maps, the store's snapshots, the legacy mapping) covers them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any, get_args

import pytest

import domain
from adapters.legacy import mapping as legacy
from application.services.actions import ActionService
from application.services.base import AggregateService
from application.services.deals import DealService
from application.services.jobs import JobService
from application.services.runs import RunService
from application.services.sessions import SessionService
from application.store import EventStore
from application.summaries import ACTION_STATUS, JOB_STATUS, RUN_STATUS, VERIFICATION
from domain import catalog
from domain.action import ActionStatus
from domain.archive import Archive
from domain.declared import Declared
from domain.job import Job, JobStatus
from domain.model import AggregateCreated, ZakopsAggregate
from domain.run import RunStatus, Verification
from domain.session import Session
from domain.taxonomy import ALIASES, REGISTRY
from entrypoints.container import Container

SERVICES: tuple[type[AggregateService[Any]], ...] = (
    RunService,
    DealService,
    ActionService,
    JobService,
    SessionService,
)
TYPED = [a for a in catalog.AGGREGATES if a is not Session]  # aggregates of event classes


def aggregates_in_domain() -> set[type[ZakopsAggregate]]:
    """Every aggregate class the domain package defines (its modules all imported)."""
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")
    return {
        cls
        for cls in ZakopsAggregate.__subclasses__()
        if cls.__module__.startswith("domain.") and not inspect.isabstract(cls)
    }


def nested_events(aggregate: type[ZakopsAggregate]) -> list[type[ZakopsAggregate.Event]]:
    return [
        value
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, ZakopsAggregate.Event) and name != "Event"
    ]


def test_the_registry_is_what_the_aggregates_declare() -> None:
    assert list(REGISTRY.values()) == catalog.declared_specs()
    assert len(REGISTRY) == 39


def test_every_registered_type_has_one_aggregate_and_a_class_or_a_record() -> None:
    for name, spec in REGISTRY.items():
        owners = [a for a in catalog.AGGREGATES if name in classes_by_type(a)]
        if spec.aggregate == "session":
            assert owners == [] and name in Session.RECORDS, name
        else:
            assert [a.KIND for a in owners] == [spec.aggregate], name


def classes_by_type(aggregate: type[ZakopsAggregate]) -> dict[str, list[type]]:
    found: dict[str, list[type]] = {}
    for cls in catalog.event_classes(aggregate):
        found.setdefault(cls.TYPE, []).append(cls)
    return found


@pytest.mark.parametrize("aggregate", TYPED, ids=lambda a: a.__name__)
def test_each_type_has_one_class_per_role(aggregate: type[ZakopsAggregate]) -> None:
    """At most one class creates the aggregate with a type and one records it later (a job's
    `worker.job_queued` does both: first enqueue, then an operator's requeue)."""
    for name, classes in classes_by_type(aggregate).items():
        creating = [cls for cls in classes if issubclass(cls, AggregateCreated)]
        later = [cls for cls in classes if not issubclass(cls, AggregateCreated)]
        assert len(creating) <= 1 and len(later) <= 1, name


@pytest.mark.parametrize("aggregate", TYPED, ids=lambda a: a.__name__)
def test_every_event_class_with_a_type_is_declared(aggregate: type[ZakopsAggregate]) -> None:
    """A nested event with a TYPE but without `Declared` would be stored but never
    registered: the emitter, the enums and the services would not know its type."""
    for cls in nested_events(aggregate):
        assert cls.TYPE == "" or issubclass(cls, Declared), cls.__qualname__
        assert issubclass(cls, Declared) == (cls.TYPE != ""), cls.__qualname__


@pytest.mark.parametrize("aggregate", TYPED, ids=lambda a: a.__name__)
def test_every_later_event_names_a_command_of_its_aggregate(
    aggregate: type[ZakopsAggregate],
) -> None:
    for cls in catalog.event_classes(aggregate):
        if issubclass(cls, AggregateCreated):
            assert cls.COMMAND is None, cls.__qualname__  # `create` records it
            continue
        assert cls.COMMAND is not None, f"{cls.__qualname__} names no COMMAND"
        method = getattr(aggregate, cls.COMMAND, None)
        assert callable(method), f"{aggregate.__name__}.{cls.COMMAND} is not a command"
        assert list(inspect.signature(method).parameters)[:4] == ["self", "meta", "at", "payload"]


def test_topics_are_unique_and_under_their_aggregate() -> None:
    seen: dict[str, str] = {}
    for aggregate in aggregates_in_domain():
        for cls in nested_events(aggregate):
            topic = getattr(cls, "TOPIC", "")
            assert topic.startswith(f"{getattr(aggregate, 'TOPIC', '')}."), cls.__qualname__
            assert seen.setdefault(topic, cls.__qualname__) == cls.__qualname__


def test_every_aggregate_is_catalogued_and_snapshotted() -> None:
    """Forgetting `snapshotting_intervals` would silently disable snapshots."""
    found = aggregates_in_domain()
    assert found == {*catalog.AGGREGATES, Archive}
    assert set(EventStore.snapshotting_intervals) == found


def test_every_catalogued_aggregate_has_one_service() -> None:
    assert sorted(s.aggregate.__name__ for s in SERVICES) == sorted(
        a.__name__ for a in catalog.AGGREGATES
    )
    for service in SERVICES:
        if service.aggregate is not Session:
            assert service.creation_type == catalog.creation_type(service.aggregate)
            assert service.commands == catalog.commands(service.aggregate)


def test_the_emitter_routes_every_aggregate_kind_to_its_service() -> None:
    """The composition root's kind -> service map (the emitter routes by a type's aggregate)."""
    routed = Container.emitter.kwargs["services"].kwargs
    assert {kind: p.provides.aggregate for kind, p in routed.items()} == {
        a.KIND: a for a in catalog.AGGREGATES
    }


def test_statuses_are_states_of_their_lifecycles() -> None:
    assert set(RUN_STATUS.values()) <= set(get_args(RunStatus))
    assert set(VERIFICATION.values()) <= set(get_args(Verification))
    assert set(ACTION_STATUS.values()) == set(get_args(ActionStatus))
    assert set(JOB_STATUS.values()) == set(get_args(JobStatus))


def test_schema_versions_have_every_upcaster() -> None:
    for spec in REGISTRY.values():
        assert sorted(spec.upcasters) == list(range(1, spec.schema_version)), spec.name


def test_aliases_and_the_legacy_mapping_name_registered_types() -> None:
    assert set(ALIASES.values()) <= set(REGISTRY) and not set(ALIASES) & set(REGISTRY)
    assert all(REGISTRY[name].run_scoped for name in legacy.AGENT_TYPES)
    assert set(legacy.RUN_STATUS) == set(RUN_STATUS)
    assert set(legacy.ACTION_STATUS) == set(ACTION_STATUS)


def test_a_class_declared_twice_differently_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Job.Requeued, "SCHEMA_VERSION", 2)
    with pytest.raises(catalog.DeclarationError, match=r"worker\.job_queued"):
        catalog.declared_specs()
