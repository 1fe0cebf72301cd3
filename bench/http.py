"""Single-event `POST /api/events` through a real uvicorn server on loopback, with several
concurrent clients, against the in-process emitter rate measured in the same run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.backends import container_for, percentile
from entrypoints.settings import Settings

KEY = "writer:" + "b" * 32
HEADERS = {"Authorization": "Bearer " + "b" * 32}


def in_process_rate(settings: Settings, events: int) -> float:
    with container_for(settings) as app:
        emitter = app.emitter()
        start = time.perf_counter()
        for i in range(events):
            emitter.emit("custom.tick", {"i": i}, session_id=f"inproc-{i % 8}")
        return events / (time.perf_counter() - start)


def _env(settings: Settings, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "ZAKOPS_STORE": settings.store,
        "ZAKOPS_API_KEYS": KEY,
        "ZAKOPS_SQLITE_PATH": str(settings.sqlite_path),
        "ZAKOPS_PORT": str(port),
        "ZAKOPS_POSTGRES_SCHEMA": "http_bench",
        "PYTHONPATH": str(Path.cwd()),
    }
    if settings.postgres_dsn is not None:
        env["ZAKOPS_POSTGRES_DSN"] = settings.postgres_dsn.get_secret_value()
    return env


async def _clients(base: str, clients: int, per_client: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, limits=limits, timeout=30) as http:

        async def client(c: int) -> None:
            for i in range(per_client):
                body = {"type": "custom.tick", "payload": {"i": i}, "session_id": f"http-{c}"}
                started = time.perf_counter()
                response = await http.post("/api/events", json=body)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text

        start = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(clients)))
        return time.perf_counter() - start, latencies


def http_rate(settings: Settings, clients: int, per_client: int) -> tuple[float, float, float]:
    """(events/s, median latency s, p99 latency s) over a uvicorn subprocess."""
    from tests.e2e.server import free_port

    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "entrypoints.asgi:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=_env(settings, port))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        elapsed, latencies = asyncio.run(_clients(base, clients, per_client))
    finally:
        server.terminate()
        server.wait(timeout=30)
    events = clients * per_client
    return events / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99)
