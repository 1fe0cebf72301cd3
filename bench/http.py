"""`POST /api/events` through a real uvicorn server (a subprocess on a loopback port) from
concurrent keep-alive clients (bench/wire.py), one connection each; and the load behind the
memory check."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.report import rate
from bench.wire import Connection
from entrypoints.settings import Settings

KEY = "b" * 32
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
ROOT = Path(__file__).resolve().parent.parent
BATCH = 100
RUN_BATCHES = 5  # a run of the memory load: 500 events, posted as 5 batches
Body = tuple[bytes, int]  # a request body and the number of events in it


@dataclass(frozen=True)
class Server:
    base: str
    pid: int


@dataclass
class Result:
    events: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return rate(self.events, self.seconds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(settings: Settings, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "ZAKOPS_STORE": settings.store,
        "ZAKOPS_SQLITE_PATH": str(settings.sqlite_path),
        "ZAKOPS_POSTGRES_SCHEMA": settings.postgres_schema,
        "ZAKOPS_DATA_DIR": str(settings.data_dir),
        "ZAKOPS_API_KEYS": f"writer:{KEY}",
        "ZAKOPS_PORT": str(port),
        "ZAKOPS_MAX_STREAMS_PER_KEY": "100000",  # the stream benchmark holds 10,000 open
        "PYTHONPATH": str(ROOT),
    }
    if settings.postgres_dsn is not None:
        env["ZAKOPS_POSTGRES_DSN"] = settings.postgres_dsn.get_secret_value()
    if settings.legacy_dsn is not None:
        env["ZAKOPS_LEGACY_DSN"] = settings.legacy_dsn.get_secret_value()
    return env


def launch(
    settings: Settings, workers: int = 1, port: int | None = None, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `zakops serve` on `settings`' store (on `port`, or a free one) without waiting
    for it; the process and its base URL. Its stderr goes to `log` when given."""
    port = free_port() if port is None else port
    zakops = str(Path(sys.executable).with_name("zakops"))
    command = [zakops, "serve", "--workers", str(workers), "--log-level", "warning"]
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # its cwd: no stray .env is read
    errors = open(log, "ab") if log is not None else None  # noqa: SIM115 (the child's copy)
    try:
        server = subprocess.Popen(
            command,
            env=server_env(settings, port),
            cwd=settings.data_dir,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    finally:
        if errors is not None:
            errors.close()
    return server, f"http://127.0.0.1:{port}"


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 30 s; a no-op for a process that has exited."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@contextmanager
def serve(
    settings: Settings, workers: int = 1, port: int | None = None, log: Path | None = None
) -> Iterator[Server]:
    """uvicorn running our app factory on `settings`' store, stopped on exit."""
    server, base = launch(settings, workers, port, log)
    try:
        wait_healthy(server, base)
        yield Server(base, server.pid)
    finally:
        stop(server)


def wait_healthy(server: subprocess.Popen[bytes], base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the server did not become healthy within {timeout:g} s")


async def _drive(base: str, streams: Sequence[Iterator[Body]]) -> Result:
    """One client (connection) per stream, each posting its bodies one after the other;
    connections are opened before the clock starts."""
    result = Result()

    async def client(connection: Connection, stream: Iterator[Body]) -> None:
        for body, count in stream:
            started = time.perf_counter()
            status, answer = await connection.request("POST", "/api/events", body)
            result.latencies.append(time.perf_counter() - started)
            if status != 201:
                raise RuntimeError(f"{status}: {answer[:500]!r}")
            result.events += count

    connections = [await Connection.open(base, HEADERS) for _ in streams]
    try:
        await asyncio.gather(*(c.request("GET", "/healthz") for c in connections))
        start = time.perf_counter()
        await asyncio.gather(*(client(c, s) for c, s in zip(connections, streams, strict=True)))
        result.seconds = time.perf_counter() - start
    finally:
        for connection in connections:
            await connection.close()
    return result


def drive(base: str, streams: Sequence[Iterator[Body]]) -> Result:
    return asyncio.run(_drive(base, streams))


def _encode(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def singles(clients: int, per_client: int, label: str) -> list[Iterator[Body]]:
    """Per client, `per_client` single `custom.tick` events into session http-<label>-<c>."""
    return [
        iter([(_encode(_tick(f"http-{label}-{c}", i)), 1) for i in range(per_client)])
        for c in range(clients)
    ]


def batches(clients: int, per_client: int, label: str) -> list[Iterator[Body]]:
    """Per client, `per_client` batches of 100 `custom.tick` events into its own session."""
    return [
        iter(
            [
                (
                    _encode(
                        {
                            "events": [
                                _tick(f"http-{label}-{c}", b * BATCH + i) for i in range(BATCH)
                            ]
                        }
                    ),
                    BATCH,
                )
                for b in range(per_client)
            ]
        )
        for c in range(clients)
    ]


def _tick(session_id: str, i: int) -> dict[str, object]:
    return {"type": "custom.tick", "payload": {"i": i}, "session_id": session_id}


def run_bodies(client: int, clients: int, sessions: int, content_bytes: int) -> Iterator[Body]:
    """Endless batches of 100 for the memory load: run after run (500 events each, created,
    started, thinking with `content_bytes` of text, completed), runs spread over `sessions`
    sessions; client `client` of `clients` takes every `clients`-th run."""
    content = "x" * content_bytes
    for j in itertools.count():
        k = j * clients + client
        run_id, session = f"m-{k}", f"ms-{k % sessions}"
        for b in range(RUN_BATCHES):
            events: list[dict[str, object]] = []
            if b == 0:
                events.append(
                    {"type": "run_created", "payload": {}, "session_id": session, "run_id": run_id}
                )
                events.append({"type": "run_started", "payload": {}, "run_id": run_id})
            thinking: dict[str, object] = {
                "type": "agent.thinking",
                "payload": {"content": content},
                "run_id": run_id,
            }
            events += [thinking] * (BATCH - len(events))
            if b == RUN_BATCHES - 1:
                events[-1] = {"type": "run_completed", "payload": {}, "run_id": run_id}
            yield _encode({"events": events}), BATCH


def take(streams: Sequence[Iterator[Body]], total_batches: int) -> list[Iterator[Body]]:
    """The next `total_batches` bodies of these endless streams, shared out evenly."""
    share, extra = divmod(total_batches, len(streams))
    return [itertools.islice(s, share + (1 if n < extra else 0)) for n, s in enumerate(streams)]
