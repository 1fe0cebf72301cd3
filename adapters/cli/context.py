"""What the CLI commands need, as plain objects built lazily by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.keys.ring import LiveKeyRing
from application.emitter import Emitter
from application.legacy import LegacyImporter
from application.projector import Projector
from application.queries import QueryService
from application.services.actions import ActionService
from application.services.deals import DealService
from application.services.jobs import JobService
from application.services.runs import RunService
from application.services.sessions import SessionService


@dataclass
class CliContext:
    runs: RunService
    deals: DealService
    actions: ActionService
    jobs: JobService
    sessions: SessionService
    emitter: Emitter
    queries: QueryService
    init_db: Callable[[], None]
    describe_store: Callable[[], dict[str, Any]]
    close: Callable[[], None]
    projectors: dict[str, Projector] = field(default_factory=dict)
    importer: LegacyImporter | None = None


@dataclass
class Overrides:
    """Global options that override the settings (`--store`, `--dsn`, `--sqlite-path`)."""

    store: str | None = None
    dsn: str | None = None
    sqlite_path: str | None = None


@dataclass
class Hooks:
    """Entry points the adapter cannot import itself (they live in `entrypoints`)."""

    build: Callable[[Overrides], CliContext]
    serve: Callable[[Overrides, str | None, int | None, int, str], None]
    demo: Callable[[CliContext, Callable[[str], None]], str]
    keys: Callable[[], LiveKeyRing]  # the key file needs no store: it works in an outage
