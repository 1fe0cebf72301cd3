"""Fakes for application-tier tests: a fixed clock, sequential ids, the in-memory store.

The services are wired as the composition root wires them (`entrypoints/container.py`), but
by hand: no settings, no environment, no threads but the store's own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.persistence.environment import library_env
from adapters.persistence.recorders import EnvelopePOPORecorder
from application.emitter import Emitter
from application.services.actions import ActionService
from application.services.base import Services
from application.services.deals import DealService
from application.services.jobs import JobService
from application.services.runs import RunService
from application.services.sessions import SessionService
from application.store import EventStore

T0 = datetime(2026, 2, 6, 10, 0, tzinfo=UTC)


class StepClock:
    """Each reading is one second after the previous one, from T0."""

    def __init__(self) -> None:
        self.readings = 0

    def now(self) -> datetime:
        self.readings += 1
        return T0 + timedelta(seconds=self.readings - 1)


class SequentialIds:
    def __init__(self) -> None:
        self.count = 0

    def new_id(self) -> str:
        self.count += 1
        return f"00000000-0000-4000-8000-{self.count:012d}"


@dataclass
class QuietServices(Services):
    """Services whose retry backoff records the attempt instead of sleeping."""

    backoffs: list[int] = field(default_factory=list)

    def backoff(self, attempt: int) -> None:
        self.backoffs.append(attempt)


@dataclass
class App:
    deps: QuietServices
    runs: RunService
    deals: DealService
    actions: ActionService
    jobs: JobService
    sessions: SessionService
    emitter: Emitter

    @property
    def store(self) -> EventStore:
        return self.deps.store

    @property
    def table(self) -> Any:
        return self.deps.view


def make_app(retries: int = 3) -> App:
    store = EventStore(env=library_env("memory"))
    assert isinstance(store.recorder, EnvelopePOPORecorder)
    deps = QuietServices(
        store=store,
        view=store.recorder.table,
        clock=StepClock(),
        ids=SequentialIds(),
        retries=retries,
    )
    runs, deals = RunService(deps), DealService(deps)
    actions, jobs, sessions = ActionService(deps), JobService(deps), SessionService(deps)
    services: dict[str, Any] = {
        "run": runs,
        "deal": deals,
        "action": actions,
        "job": jobs,
        "session": sessions,
    }
    return App(deps, runs, deals, actions, jobs, sessions, Emitter(deps, services))


@pytest.fixture
def app() -> Iterator[App]:
    built = make_app()
    yield built
    built.store.close()
