"""What the HTTP adapter needs, as plain objects (the composition root fills it in)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.http.auth import Keys
from application.emitter import Emitter
from application.projector import Projector
from application.queries import QueryService
from application.services.actions import ActionService
from application.services.deals import DealService
from application.services.jobs import JobService
from application.services.runs import RunService
from application.services.sessions import SessionService
from domain.errors import NotFound


@dataclass
class ApiDeps:
    runs: RunService
    deals: DealService
    actions: ActionService
    jobs: JobService
    sessions: SessionService
    emitter: Emitter
    queries: QueryService
    keys: Keys
    projectors: list[Projector] = field(default_factory=list)
    max_body_bytes: int = 1_048_576
    public_metrics: bool = False  # /metrics without a key
    public_docs: bool = False  # /docs, /redoc and /openapi.json without a key
    stream_poll_seconds: float = 0.25
    heartbeat_seconds: float = 15.0
    max_streams_per_key: int = 256
    own_auth_paths: tuple[str, ...] = ()  # prefixes that check their own session (the console)
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)
    # Given the live follower's wake-up call, arrange for it to be called after commits
    # (this process's, and other processes' where the store can tell); returns a stop.
    live_wakeups: Callable[[Callable[[], None]], Callable[[], None]] | None = None

    def projector(self, name: str) -> Projector:
        """The projection of that name (`NotFound` otherwise), for the operator routes."""
        for projector in self.projectors:
            if projector.name == name:
                return projector
        raise NotFound("projection", name)
