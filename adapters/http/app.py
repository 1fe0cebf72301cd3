"""The FastAPI application, assembled from plain dependencies (see entrypoints/asgi.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from prometheus_client import Gauge
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.types import Receive, Scope, Send

from adapters.http import observability, problems
from adapters.http.auth import Authenticate, public_paths
from adapters.http.deps import ApiDeps
from adapters.http.lean import LeanRoutes
from adapters.http.routes_business import router as business
from adapters.http.routes_events import EMIT
from adapters.http.routes_events import router as events
from adapters.http.routes_runs import router as runs
from adapters.http.routes_state import router as state
from adapters.http.schemas import EmitBatchIn, EmitIn
from adapters.http.streams import StreamSlots, serve_stream
from adapters.http.streams import router as streams
from adapters.live.follower import LogFollower
from adapters.live.hub import LiveHub
from application.projector import Projector

DESCRIPTION = """Typed, ordered, immutable events for agent runs and business deals.

Authenticate with `Authorization: Bearer <API key>` (every path but `/healthz` and `/readyz`,
unless the server opens `/metrics` or these docs). Roles: `reader` (queries and streams),
`writer` (plus emission and commands), `operator` (plus admin operations). Errors are
`application/problem+json` (RFC 9457). Every command accepts an `Idempotency-Key` header,
which becomes the event_id: a repeat returns the original envelopes with 200 instead of 201.
"""


class EventCoreApi(FastAPI):
    """The API, with two lean paths: the live streams' ahead of the middleware
    (streams.py), and the emit route's ahead of the routing (lean.py)."""

    lean: LeanRoutes | None = None  # built on the first request, once all middleware is in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["path"].endswith("/stream"):
                if await serve_stream(self.state, scope, receive, send):
                    return
            else:
                if self.lean is None:
                    self.lean = LeanRoutes(self, [EMIT])
                served = self.lean.find(scope)
                if served is not None:
                    scope["app"] = self  # as Starlette sets it, before any middleware
                    await served(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)


def make_app(deps: ApiDeps) -> FastAPI:
    hub = LiveHub(deps.heartbeat_seconds)
    follower = LogFollower(hub, deps.queries.get_events_after, deps.queries.head)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        hub.heartbeat_seconds = deps.heartbeat_seconds
        follower.poll_seconds = deps.stream_poll_seconds
        hub.start()
        await follower.start()
        stop_wakeups = deps.live_wakeups(follower.wake_threadsafe) if deps.live_wakeups else None
        yield
        if stop_wakeups is not None:
            stop_wakeups()
        await follower.stop()
        await hub.stop()
        for close in deps.on_shutdown:
            close()

    app = EventCoreApi(
        title="ZakOps Event Core", version="0.1.0", description=DESCRIPTION, lifespan=lifespan
    )
    app.state.deps = deps
    app.state.stream_slots = StreamSlots(deps.max_streams_per_key)
    app.state.live_hub = hub
    app.state.live_follower = follower
    app.state.metrics = observability.Metrics(
        {p.name: lag_of(p) for p in deps.projectors},
        {p.name: parked_of(p) for p in deps.projectors},
    )
    Gauge(
        "zakops_live_streams",
        "Live streams open in this process",
        registry=app.state.metrics.registry,
    ).set_function(lambda: float(hub.subscribers))
    problems.install(app)
    app.add_middleware(
        observability.BodyLimit, limit=deps.max_body_bytes, form_paths=deps.own_auth_paths
    )
    public = public_paths(metrics=deps.public_metrics, docs=deps.public_docs)
    app.add_middleware(  # before the body is read
        Authenticate, keys=deps.keys, public=public, own_auth=deps.own_auth_paths
    )
    app.add_middleware(observability.RequestContext, metrics=app.state.metrics)
    for router in (streams, events, runs, business, state):  # streams first: /api/events/stream
        app.include_router(router)
    document_models(app, EmitIn, EmitBatchIn)
    return app


def document_models(app: FastAPI, *models: type[BaseModel]) -> None:
    """Add models to the OpenAPI components that a route reads by hand (the emit route
    validates its body itself, so FastAPI does not see its models)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)  # stores the schema as app.openapi_schema
            _, top = models_json_schema(
                [(model, "validation") for model in models],
                ref_template="#/components/schemas/{model}",
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(top["$defs"])
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema


def lag_of(projector: Projector) -> Callable[[], float]:
    return lambda: float(projector.lag())


def parked_of(projector: Projector) -> Callable[[], float]:
    return lambda: float(projector.parked_count())
