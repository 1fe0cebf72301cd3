"""A real uvicorn server on a free loopback port, in a thread (for SSE and the benchmark)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from adapters.http.protocol import BoundedHttpToolsProtocol


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    with serving(app) as (url, _):
        yield url


def drop_connections(server: uvicorn.Server) -> int:
    """Close every open connection abruptly, as a network failure would (streams too)."""
    dropped = 0
    for connection in list(server.server_state.connections):
        transport = getattr(connection, "transport", None)
        loop = getattr(connection, "loop", None)
        if transport is not None and loop is not None:
            loop.call_soon_threadsafe(transport.close)
            dropped += 1
    return dropped


@contextmanager
def serving(app: FastAPI) -> Iterator[tuple[str, uvicorn.Server]]:
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        http=BoundedHttpToolsProtocol,  # as `zakops serve` runs it
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
