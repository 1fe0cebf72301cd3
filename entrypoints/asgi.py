"""`create_app(settings)`: the ASGI application, assembled by the composition root.

Nothing is built at import time; uvicorn calls `create_server_app` as a factory
(`uvicorn entrypoints.asgi:create_server_app --factory`, what `zakops serve` runs).
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

from adapters.console.app import mount_console
from adapters.console.security import PREFIX as CONSOLE
from adapters.http.app import make_app
from adapters.http.deps import ApiDeps
from application.projector import Follower
from entrypoints.console import console_secret, store_description
from entrypoints.container import build, close, init_db, live_wakeups, projectors, services
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
    keys = keyring(settings)
    deps = ApiDeps(
        **services(container),
        keys=keys,
        max_body_bytes=settings.max_body_bytes,
        public_metrics=settings.public_metrics,
        public_docs=settings.public_docs,
        max_streams_per_key=settings.max_streams_per_key,
        projectors=background,
        on_shutdown=[follower.stop, lambda: close(container)],
        live_wakeups=live_wakeups(container),
        own_auth_paths=(CONSOLE,),
    )
    app = make_app(deps)
    mount_console(app, deps, keys, console_secret(settings), store_description(settings))
    return app


def create_server_app() -> FastAPI:
    """The app of a server process (settings from the environment), with the garbage
    collector settled for a long-lived server: what start-up built (modules, the container,
    the app) lives as long as the process, so it is frozen out of the collector's sight and
    full collections only walk what requests allocate; the young generation is collected
    less often, since each event allocates many short-lived objects. Only for a process
    that builds one app: `gc.freeze` keeps what it froze for good."""
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    return app
