"""4. Server memory that clients control: slow SSE consumers over a session of large events
(one reads nothing, one reads 16 KB every 0.1 s), and deals with a 1 MB display name (the
aggregate cache is bounded in bytes, 64 MB by default). RSS is the server's VmRSS, sampled."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress

from bench.http import HEADERS, KEY
from bench.raw import rss_mb
from bench.wire import Connection
from chaos.load import TRANSPORT_ERRORS
from chaos.report import Bound, Figure, Scope
from chaos.server import Restartable
from chaos.workspace import Workspace

STREAM_GROWTH_MB = 100.0  # a stream holds one page of about 1 MB; sockets hold a few MB
DEAL_GROWTH_MB = 150.0  # the 64 MB aggregate cache, a 1 MB body in flight, allocator slack
EVENT_BYTES = 500_000
DISPLAY_NAME_BYTES = 1_000_000  # under the 1 MiB body limit with the rest of the body


async def post_all(base: str, path: str, bodies: list[bytes], pid: int) -> float:
    """Post the bodies one after the other; the highest RSS seen (MB), sampled every 10."""
    connection = await Connection.open(base, HEADERS)
    peak = rss_mb(pid)
    try:
        for n, body in enumerate(bodies):
            status, answer = await connection.request("POST", path, body)
            if status != 201:
                raise RuntimeError(f"{path}: {status} {answer[:200]!r}")
            if n % 10 == 0:
                peak = max(peak, rss_mb(pid))
    finally:
        await connection.close()
    return max(peak, rss_mb(pid))


async def open_stream(base: str, session: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET /api/sessions/{session}/events/stream HTTP/1.1\r\nHost: chaos\r\n"
        f"Authorization: Bearer {KEY}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    return reader, writer


async def slowly(reader: asyncio.StreamReader, received: list[int]) -> None:
    while chunk := await reader.read(16_384):
        received[0] += len(chunk)
        await asyncio.sleep(0.1)


async def watch_streams(base: str, session: str, pid: int, seconds: float) -> tuple[float, int]:
    """Two slow consumers for `seconds`; the highest RSS seen (MB), bytes the slow one read."""
    idle = await open_stream(base, session)
    sipping = await open_stream(base, session)
    received = [0]
    reading = asyncio.create_task(slowly(sipping[0], received))
    peak = rss_mb(pid)
    for _ in range(int(seconds / 0.2)):
        await asyncio.sleep(0.2)
        peak = max(peak, rss_mb(pid))
    reading.cancel()
    for _, writer in (idle, sipping):
        writer.close()
        with suppress(*TRANSPORT_ERRORS):
            await writer.wait_closed()
    with suppress(asyncio.CancelledError):
        await reading
    return peak, received[0]


def memory_under_slow_clients(ws: Workspace) -> list[Figure]:
    events, deals = ws.pick(100, 300), ws.pick(150, 600)
    content = "x" * EVENT_BYTES
    bodies = [
        json.dumps({"type": "custom.big", "session_id": "big", "payload": {"content": content}})
        for _ in range(events)
    ]
    name = "d" * DISPLAY_NAME_BYTES
    deal_bodies = [
        json.dumps({"deal_id": f"D-{n}", "name": "Acme", "display_name": name}).encode()
        for n in range(deals)
    ]
    with Restartable(ws.settings("sqlite", "memory"), ws.log("memory")) as server:
        started = rss_mb(server.pid)
        asyncio.run(post_all(server.base, "/api/events", [b.encode() for b in bodies], server.pid))
        at_rest = rss_mb(server.pid)
        peak, received = asyncio.run(
            watch_streams(server.base, "big", server.pid, ws.pick(6.0, 20.0))
        )
        before_deals = rss_mb(server.pid)
        deal_peak = asyncio.run(post_all(server.base, "/api/deals", deal_bodies, server.pid))
    figure = Scope("4 slow SSE consumer / big values", "sqlite")
    return [
        figure("RSS at start", round(started, 1), unit=" MB"),
        figure(f"RSS after {events} events of 500 KB", round(at_rest, 1), unit=" MB"),
        figure(
            "RSS growth, 2 slow streams",
            round(peak - at_rest, 1),
            Bound("<=", STREAM_GROWTH_MB),
            " MB",
            note=f"the slow reader got {received / 1e6:.1f} MB",
        ),
        figure(
            f"RSS growth, {deals} deals of 1 MB",
            round(deal_peak - before_deals, 1),
            Bound("<=", DEAL_GROWTH_MB),
            " MB",
            note=f"peak {deal_peak:.0f} MB",
        ),
    ]
