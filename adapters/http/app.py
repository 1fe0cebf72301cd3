"""The FastAPI application, assembled from plain dependencies (see entrypoints/asgi.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from adapters.http import observability, problems
from adapters.http.deps import ApiDeps
from adapters.http.routes_business import router as business
from adapters.http.routes_events import router as events
from adapters.http.routes_runs import router as runs
from adapters.http.routes_state import router as state
from adapters.http.streams import router as streams
from application.projector import Projector

DESCRIPTION = """Typed, ordered, immutable events for agent runs and business deals.

Authenticate with `Authorization: Bearer <API key>`. Roles: `reader` (queries and streams),
`writer` (plus emission and commands), `operator` (plus admin operations). Errors are
`application/problem+json` (RFC 9457). Every command accepts an `Idempotency-Key` header,
which becomes the event_id: a repeat returns the original envelopes with 200 instead of 201.
"""


def make_app(deps: ApiDeps) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for close in deps.on_shutdown:
            close()

    app = FastAPI(
        title="ZakOps Event Core", version="0.1.0", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.deps = deps
    app.state.metrics = observability.Metrics({p.name: lag_of(p) for p in deps.projectors})
    problems.install(app)
    app.add_middleware(observability.BodyLimit, limit=deps.max_body_bytes)
    app.add_middleware(observability.RequestContext, metrics=app.state.metrics)
    for router in (events, streams, runs, business, state):
        app.include_router(router)

    return app


def lag_of(projector: Projector) -> Callable[[], float]:
    return lambda: float(projector.lag())
