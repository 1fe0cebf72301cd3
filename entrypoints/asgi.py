"""`create_app(settings)`: the ASGI application, assembled by the composition root.

Nothing is built at import time; uvicorn calls `create_app` as a factory
(`uvicorn entrypoints.asgi:create_app --factory`).
"""

from __future__ import annotations

from fastapi import FastAPI

from adapters.http.app import make_app
from adapters.http.deps import ApiDeps
from application.projector import Follower
from entrypoints.container import build, close, init_db, projectors, services
from entrypoints.keys import keyring
from entrypoints.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    container = build(settings)
    init_db(container)
    background = list(projectors(container).values())
    follower = Follower(background)
    if background:
        follower.start()  # the legacy projection follows the log beside the API
    deps = ApiDeps(
        **services(container),
        keys=keyring(settings),
        max_body_bytes=settings.max_body_bytes,
        projectors=background,
        on_shutdown=[follower.stop, lambda: close(container)],
    )
    return make_app(deps)
