"""Live streams at scale against a real server: idle streams' cost, fan-out latency, write
latency with streams open, and a reconnect storm.

Streams are opened by reader processes (raw sockets, `spawn`ed, a share of the streams
each), so the measuring client does not compete with one Python thread; the writer posts
from this process with the raw keep-alive client. Times are `time.monotonic()`, which is
one clock for every process on Linux.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import os
import re
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import uvloop

from bench.http import HEADERS
from bench.raw import rss_mb
from bench.report import percentile
from bench.wire import Connection

ID = re.compile(rb"id: (\d+)\n")
READERS = 2  # reader processes
OPENING = 200  # connections being opened at once, per reader


@dataclass(frozen=True)
class StreamPlan:
    base: str
    streams: int  # this reader's share
    sessions: tuple[str, ...]  # stream i follows sessions[i % len]
    until: int  # read until this id; 0: idle streams, held open until told to stop
    storm_at: int = 0  # reconnect every stream, with Last-Event-ID, after this id (0: never)


async def _open(
    base: str, path: str, last_id: int | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(base)
    assert url.hostname is not None
    assert url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port, limit=1 << 20)
    lines = [f"GET {path} HTTP/1.1", f"Host: {url.netloc}", "Accept: text/event-stream"]
    lines.append(f"Authorization: {HEADERS['Authorization']}")
    if last_id is not None:
        lines.append(f"Last-Event-ID: {last_id}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"stream refused: {head[:200]!r}")
    return reader, writer


def _path(plan: StreamPlan, index: int) -> str:
    return f"/api/sessions/{plan.sessions[index % len(plan.sessions)]}/events/stream"


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


async def _hold(plan: StreamPlan, pipe: Pipe) -> None:
    """Idle streams: open them all, say so, hold them (reading pings) until told."""
    gate = asyncio.Semaphore(OPENING)

    async def one(index: int) -> tuple[asyncio.Task[None], asyncio.StreamWriter]:
        async with gate:
            reader, writer = await _open(plan.base, _path(plan, index), None)
        return asyncio.create_task(_drain(reader)), writer

    opened = await asyncio.gather(*(one(i) for i in range(plan.streams)))
    pipe.send("open")
    await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    for task, writer in opened:
        task.cancel()
        writer.close()
    pipe.send("closed")


class _Follower(asyncio.Protocol):
    """One stream's connection, read by callbacks (no coroutine woken per event): every
    (id, arrival time); `done` resolves when the stream reaches `until` or `storm_at`, or
    ends."""

    def __init__(self, log: list[tuple[int, float]], last: int | None, stop_at: int) -> None:
        self.log = log
        self.last = last
        self.stop_at = stop_at
        self.buffer = b""
        self.head = True  # the response head is not read yet
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        if self.head:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 200"):
                self._end(RuntimeError(f"stream refused: {buffer[:200]!r}"))
                return
            self.head = False
            self.opened.set_result(None)
            buffer = buffer[end + 4 :]
        end = buffer.rfind(b"\n\n")
        if end >= 0:
            now = time.monotonic()
            for match in ID.finditer(buffer, 0, end + 2):
                self.last = int(match.group(1))
                self.log.append((self.last, now))
            buffer = buffer[end + 2 :]
            if self.last is not None and self.last >= self.stop_at:
                self._end(None)
        self.buffer = buffer

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(RuntimeError("the server closed a stream"))

    def _end(self, error: Exception | None) -> None:
        for future in (self.opened, self.done):
            if not future.done():
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)
        if self.transport is not None:
            self.transport.close()


async def _follow(
    plan: StreamPlan, index: int, gate: asyncio.Semaphore, opened: list[int]
) -> list[tuple[int, float]]:
    """One stream: every (id, arrival time) until `until`, reconnecting once at
    `storm_at` with the last id received."""
    url = urlsplit(plan.base)
    assert url.hostname is not None
    assert url.port is not None
    log: list[tuple[int, float]] = []
    last: int | None = None
    stormed = plan.storm_at == 0
    loop = asyncio.get_running_loop()
    while last is None or last < plan.until:
        stop_at = plan.until if stormed else plan.storm_at
        async with gate:
            _, follower = await loop.create_connection(
                lambda: _Follower(log, last, stop_at),  # noqa: B023 (called at once)
                url.hostname,
                url.port,
            )
            lines = [f"GET {_path(plan, index)} HTTP/1.1", f"Host: {url.netloc}"]
            lines += ["Accept: text/event-stream", f"Authorization: {HEADERS['Authorization']}"]
            if last is not None:
                lines.append(f"Last-Event-ID: {last}")
            assert follower.transport is not None
            follower.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await follower.opened
        opened[index] = 1
        try:
            await follower.done
        finally:
            assert follower.transport is not None
            follower.transport.close()
        last = follower.last
        stormed = True  # reconnect, as every other stream does about now
    return log


async def _read(plan: StreamPlan, pipe: Pipe) -> None:
    gate = asyncio.Semaphore(OPENING)
    opened = [0] * plan.streams
    pending = [asyncio.create_task(_follow(plan, i, gate, opened)) for i in range(plan.streams)]
    while sum(opened) < plan.streams:  # every stream subscribed before the writes start
        await asyncio.sleep(0.05)
    pipe.send("open")
    logs = await asyncio.gather(*pending)
    pipe.send(logs)


def _reader_main(plan: StreamPlan, pipe: Pipe) -> None:
    """A reader process, on uvloop: the clients share the server's two cores here, and
    the cheaper they read the less they weigh on the write latency measured beside them."""
    uvloop.run(_hold(plan, pipe) if plan.until == 0 else _read(plan, pipe))


def start_readers(plan: StreamPlan, total: int) -> list[tuple[BaseProcess, Pipe]]:
    context = multiprocessing.get_context("spawn")
    readers: list[tuple[BaseProcess, Pipe]] = []
    for n in range(READERS):
        share = total // READERS + (1 if n < total % READERS else 0)
        mine, theirs = context.Pipe()
        mine_plan = StreamPlan(plan.base, share, plan.sessions, plan.until, plan.storm_at)
        process = context.Process(target=_reader_main, args=(mine_plan, theirs), daemon=True)
        process.start()
        readers.append((process, mine))
    for _, pipe in readers:
        if pipe.recv() != "open":
            raise RuntimeError("a reader did not open its streams")
    return readers


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _post(
    base: str, sessions: list[str], events: int, gap: float
) -> tuple[dict[int, float], list[float]]:
    """Post `events` events, one at a time, to each session in turn; the ack time per seq
    (of the first session) and every write's latency."""
    connection = await Connection.open(base, HEADERS)
    acked: dict[int, float] = {}
    latencies: list[float] = []
    try:
        for i in range(events):
            for session in sessions:
                seq, started, done = await _write(connection, session, i)
                latencies.append(done - started)
                if session == sessions[0]:
                    acked[seq] = done
            await asyncio.sleep(gap)
    finally:
        await connection.close()
    return acked, latencies


async def _write(connection: Connection, session: str, i: int) -> tuple[int, float, float]:
    """One event: its seq, and when it was sent and acknowledged."""
    body = json.dumps({"type": "custom.tick", "session_id": session, "payload": {"i": i}})
    started = time.monotonic()
    status, answer = await connection.request("POST", "/api/events", body.encode())
    done = time.monotonic()
    if status != 201:
        raise RuntimeError(f"{status}: {answer[:200]!r}")
    return int(json.loads(answer)["seq"]), started, done


def post(
    base: str, sessions: list[str], events: int, gap: float
) -> tuple[dict[int, float], list[float]]:
    return asyncio.run(_post(base, sessions, events, gap))


BLOCK = 25  # writes per block when followed and unfollowed writes alternate


@dataclass(frozen=True)
class Paired:
    """Write latencies to a followed session and to one nobody follows, taken in
    alternating blocks at the same pace, so that both see the same machine."""

    followed: list[float]
    unfollowed: list[float]
    acked: dict[int, float]  # the followed session's ack time per seq


async def _paired(base: str, followed: str, events: int, gap: float) -> Paired:
    connection = await Connection.open(base, HEADERS)
    to_followed: list[float] = []
    to_unfollowed: list[float] = []
    acked: dict[int, float] = {}
    try:
        for first in range(0, events, BLOCK):
            size = min(BLOCK, events - first)
            for i in range(size):
                _, started, done = await _write(connection, f"{followed}-unfollowed", first + i)
                to_unfollowed.append(done - started)
                await asyncio.sleep(gap)
            for i in range(size):
                seq, started, done = await _write(connection, followed, first + i)
                to_followed.append(done - started)
                acked[seq] = done
                await asyncio.sleep(gap)
    finally:
        await connection.close()
    return Paired(to_followed, to_unfollowed, acked)


def paired(base: str, followed: str, events: int, gap: float) -> Paired:
    """`events` writes to `followed` and as many to a session nobody follows, in
    alternating blocks of `BLOCK`, `gap` apart."""
    return asyncio.run(_paired(base, followed, events, gap))


@dataclass(frozen=True)
class Idle:
    streams: int
    cpu_share: float  # of one core, while the streams are open and idle
    rss_added_mb: float


def idle_streams(base: str, pid: int, streams: int, seconds: float) -> Idle:
    """Open `streams` streams over 100 sessions and hold them idle for `seconds`: the
    server's CPU share and the RSS they added."""
    before = rss_mb(pid)
    sessions = tuple(f"idle-{n}" for n in range(100))
    readers = start_readers(StreamPlan(base, 0, sessions, until=0), streams)
    time.sleep(2)  # settle
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    share = (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)
    added = rss_mb(pid) - before
    for process, pipe in readers:
        pipe.send("stop")
        pipe.recv()
        process.join(timeout=30)
    return Idle(streams, share, added)


@dataclass(frozen=True)
class Pace:
    gap: float  # seconds between one write's acknowledgement and the next write
    followed_p99: float  # write latency to the session the streams follow
    unfollowed_p99: float  # to a session nobody follows, in blocks between those


@dataclass(frozen=True)
class FanOut:
    streams: int
    events: int  # writes to the followed session in each phase
    delivery_p50: float  # seconds from the write's acknowledgement to a stream's receipt
    delivery_p99: float
    paces: tuple[Pace, ...]
    lost: int  # (stream, id) pairs never received, across the reconnect storm
    duplicated: int
    out_of_order: int


def fan_out(base: str, streams: int, events: int, gaps: tuple[float, ...]) -> FanOut:
    """`streams` streams on one session. For each gap: `events` single writes to it and
    as many to a session nobody follows, alternating in blocks, `gap` apart (the
    difference between the two is what the fan-out costs a write; the streams' mere
    presence is part (8)'s idle row). Then every stream reconnects at once (with its
    Last-Event-ID) and `events` more are written."""
    post(base, ["fan-warm"], 20, gaps[0])  # a fresh server's first writes are slower
    session = "fan"
    storm_at = events * len(gaps)
    total = storm_at + events
    plan = StreamPlan(base, 0, (session,), until=total, storm_at=storm_at)
    readers = start_readers(plan, streams)
    measured = [paired(base, session, events, gap) for gap in gaps]
    post(base, [session], events, gaps[0])  # during and after the storm
    logs: list[list[tuple[int, float]]] = []
    for process, pipe in readers:
        logs += pipe.recv()
        process.join(timeout=30)
    first = measured[0].acked  # the busiest pace
    delays = [t - first[i] for log in logs for i, t in log if i in first]
    lost = duplicated = disorder = 0
    for log in logs:
        ids = [i for i, _ in log]
        lost += len(set(range(1, total + 1)) - set(ids))
        duplicated += len(ids) - len(set(ids))
        disorder += sum(1 for a, b in itertools.pairwise(ids) if b <= a)
    paces = tuple(
        Pace(gap, percentile(m.followed, 0.99), percentile(m.unfollowed, 0.99))
        for gap, m in zip(gaps, measured, strict=True)
    )
    return FanOut(
        streams,
        events,
        percentile(delays, 0.5),
        percentile(delays, 0.99),
        paces,
        lost,
        duplicated,
        disorder,
    )
