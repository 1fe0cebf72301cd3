"""One reader per process follows the log and publishes each new event to the hub.

It sleeps until woken: by this process's own commits (the store calls back), by
PostgreSQL's NOTIFY on the events channel (other processes' commits, see `notify.py`), or by
a slow poll as a safety net. Then it reads every event after the last position it published,
in log order, a page at a time, from a worker thread. Commit order is log order (the append
holds the table lock; SQLite has one writer), so reading `position > last` never skips an
event that commits later with a smaller position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from adapters.live.hub import LiveEvent, LiveHub
from domain.envelope import Envelope

log = logging.getLogger("zakops.live")
PAGE = 500

ReadAfter = Callable[[int, int], list[Envelope]]  # (position, limit) -> envelopes in log order


def live_event(envelope: Envelope) -> LiveEvent:
    assert envelope.position is not None
    return LiveEvent(
        position=envelope.position,
        seq=envelope.seq,
        session_id=envelope.session_id,
        run_id=envelope.run_id,
        type=envelope.type,
        data=envelope.model_dump_json(),
    )


class LogFollower:
    def __init__(self, hub: LiveHub, read_after: ReadAfter, head: Callable[[], int]) -> None:
        self.hub = hub
        self.read_after = read_after
        self.head = head
        self.poll_seconds = 1.0
        self.position = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._reading: asyncio.Task[list[Envelope]] | None = None  # a read in its thread
        self._stopping = False

    def wake_threadsafe(self) -> None:
        """Called from any thread after a commit or a notification."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self.position = await asyncio.to_thread(self.head)  # live from here on
        self._task = self._loop.create_task(self._run())

    async def stop(self) -> None:
        """Stop following; returns once no read is running in a worker thread, so the store
        may be closed next (closing a SQLite connection that a thread is reading through
        crashes the process). The flag ends the loop even when the cancellation is lost:
        on Python 3.11 `asyncio.wait_for` swallows one that arrives with its result."""
        self._loop = None
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._reading is not None:
            with contextlib.suppress(Exception):
                await self._reading
            self._reading = None

    async def catch_up(self) -> None:
        """Publish everything stored after the last published position."""
        while True:
            # shielded: cancelling the follower cannot stop the thread, so `stop` waits for it
            self._reading = asyncio.ensure_future(
                asyncio.to_thread(self.read_after, self.position, PAGE)
            )
            envelopes = await asyncio.shield(self._reading)
            if envelopes:
                await self.hub.publish([live_event(e) for e in envelopes])
                self.position = envelopes[-1].position or self.position
            if len(envelopes) < PAGE:
                return

    async def _run(self) -> None:
        failing = False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.catch_up()
            except Exception as error:  # the store is away: streams wait, the poll retries
                if not failing:
                    log.warning("live follower cannot read the log: %s", error)
                failing = True
                continue
            if failing:
                log.info("live follower reads the log again")
            failing = False
