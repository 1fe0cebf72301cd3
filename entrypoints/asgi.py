"""`create_app(settings)`: the ASGI application, assembled by the composition root.

Nothing is built at import time; uvicorn calls `create_app` as a factory
(`uvicorn entrypoints.asgi:create_app --factory`).
"""

from __future__ import annotations

from fastapi import FastAPI

from adapters.http.app import make_app
from adapters.http.deps import ApiDeps
from entrypoints.container import build, close, init_db
from entrypoints.keys import keyring
from entrypoints.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    container = build(settings)
    init_db(container)
    deps = ApiDeps(
        runs=container.runs(),
        deals=container.deals(),
        actions=container.actions(),
        jobs=container.jobs(),
        sessions=container.sessions(),
        emitter=container.emitter(),
        queries=container.queries(),
        timeline=container.timeline(),
        keys=keyring(settings),
        max_body_bytes=settings.max_body_bytes,
        on_shutdown=[lambda: close(container)],
    )
    return make_app(deps)
