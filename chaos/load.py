"""Clients that post events under ids of their own choosing and keep at each request until it
is acknowledged (201 written, 200 written before), through a server's SIGKILL, a database
outage or a refused connection, as a careful client does. Three shapes take turns: a single
event with its `event_id`, a batch with an `event_id` per event, a batch named by an
`Idempotency-Key` (event n gets `<key>.<n>`). Events of every client spread over a few shared
sessions, so the per-session `seq` is contended. What the clients saw goes into a `Tally`."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field

from bench.http import HEADERS
from bench.wire import Connection, Reply
from chaos.report import ZERO, Figure, Scope

BATCH = 10
PATIENCE_S = 0.2  # the longest a client waits after a 503 (Retry-After says 2 s): the suite
# measures when the service is back, not how patient its clients are
REQUEST_TIMEOUT_S = 30.0
DRAIN_S = 120.0  # for the requests in flight to be acknowledged once the faults are over
TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError)


@dataclass(frozen=True)
class Item:
    """One request: its body, the ids of its events and extra headers."""

    body: bytes
    ids: tuple[str, ...]
    headers: dict[str, str]


@dataclass
class Tally:
    acknowledged: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    unavailable_without_retry_after: int = 0  # 503s that do not say when to come back
    transport_errors: int = 0  # refused, reset or cut connections (a restart causes some)
    acknowledged_at: list[float] = field(default_factory=list)  # time.monotonic() of each
    refusals: list[str] = field(default_factory=list)  # 4xx answers: none is expected
    slowest: float = 0.0  # seconds, the longest a request waited for its answer

    @property
    def server_errors(self) -> int:
        """5xx answers other than 503 (an outage's expected answer)."""
        return sum(n for status, n in self.statuses.items() if status >= 500 and status != 503)

    def first_acknowledgment_after(self, moment: float) -> float | None:
        later = [t for t in self.acknowledged_at if t >= moment]
        return min(later) - moment if later else None


def _event(tag: str, session: int, key: str) -> dict[str, object]:
    return {"type": "custom.chaos", "session_id": f"{tag}-{session}", "payload": {"key": key}}


def items(tag: str, client: int, sessions: int) -> Iterator[Item]:
    """Client `client`'s endless requests; `payload.key` names an event whatever its id."""
    for i in itertools.count():
        name = f"{tag}-{client}-{i}"
        if i % 3 == 0:
            event = {**_event(tag, (client + i) % sessions, name), "event_id": name}
            yield Item(json.dumps(event).encode(), (name,), {})
            continue
        keys = [f"{name}.{n}" for n in range(BATCH)]
        events = [_event(tag, (client + i + n) % sessions, k) for n, k in enumerate(keys)]
        if i % 3 == 1:
            events = [{**e, "event_id": k} for e, k in zip(events, keys, strict=True)]
            yield Item(json.dumps({"events": events}).encode(), tuple(keys), {})
        else:
            body = json.dumps({"events": events}).encode()
            yield Item(body, tuple(keys), {"Idempotency-Key": name})


class Load:
    def __init__(self, base: str, clients: int, tag: str, sessions: int = 4) -> None:
        self.base = base
        self.clients = clients
        self.tag = tag
        self.sessions = [f"{tag}-{s}" for s in range(sessions)]
        self.tally = Tally()

    def run(self, chaos: Callable[[], Awaitable[None]]) -> Tally:
        """Clients post while `chaos` runs; then each finishes its request in flight."""
        return asyncio.run(self._run(chaos))

    async def _run(self, chaos: Callable[[], Awaitable[None]]) -> Tally:
        stop = asyncio.Event()
        clients = [asyncio.create_task(self._client(c, stop)) for c in range(self.clients)]
        try:
            await chaos()
        except BaseException:  # the fault could not be undone: nothing to wait for
            for client in clients:
                client.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
            raise
        stop.set()
        await asyncio.wait_for(asyncio.gather(*clients), DRAIN_S)
        return self.tally

    async def _client(self, client: int, stop: asyncio.Event) -> None:
        connection: Connection | None = None
        for item in items(self.tag, client, len(self.sessions)):
            if stop.is_set():
                break
            connection = await self._deliver(connection, item)
        await _discard(connection)

    async def _deliver(self, connection: Connection | None, item: Item) -> Connection | None:
        """Send `item` until it is acknowledged or refused; the connection to go on with."""
        while True:
            try:
                connection = connection or await Connection.open(self.base, HEADERS)
                request = connection.fetch("POST", "/api/events", item.body, item.headers)
                sent = time.monotonic()
                reply = await asyncio.wait_for(request, REQUEST_TIMEOUT_S)
                self.tally.slowest = max(self.tally.slowest, time.monotonic() - sent)
            except TRANSPORT_ERRORS:
                self.tally.transport_errors += 1
                await _discard(connection)
                connection = None
                await asyncio.sleep(0.05)
                continue
            if reply.headers.get("connection", "").lower() == "close":
                await _discard(connection)
                connection = None
            if await self._settled(reply, item):
                return connection

    async def _settled(self, reply: Reply, item: Item) -> bool:
        tally = self.tally
        tally.statuses[reply.status] += 1
        if reply.status in (200, 201):
            tally.acknowledged.update(item.ids)
            tally.acknowledged_at.append(time.monotonic())
            return True
        if reply.status < 500:
            tally.refusals.append(f"{reply.status} {reply.body[:200]!r}")
            return True
        if reply.status == 503 and "retry-after" not in reply.headers:
            tally.unavailable_without_retry_after += 1
        await asyncio.sleep(PATIENCE_S)
        return False


async def _discard(connection: Connection | None) -> None:
    if connection is not None:
        with suppress(*TRANSPORT_ERRORS):
            await connection.close()


def answers(figure: Scope, tally: Tally) -> list[Figure]:
    """What else the clients were answered: refusals and 5xx (none expected), 503 and
    broken connections (for information)."""
    note = tally.refusals[0][:80] if tally.refusals else ""
    return [
        figure("4xx answers", len(tally.refusals), ZERO, note=note),
        figure("5xx other than 503", tally.server_errors, ZERO),
        figure("503 answers", tally.statuses[503]),
        figure("connections refused/cut", tally.transport_errors),
    ]
