"""The live log follower stops only once its read in a worker thread is over, so the store
can be closed right after (closing a SQLite connection a thread reads through segfaulted a
test run: the read went on after the follower's task was cancelled)."""

from __future__ import annotations

import asyncio
import threading

from adapters.live.follower import LogFollower
from adapters.live.hub import LiveHub
from domain.envelope import Envelope


def test_stop_waits_for_the_read_in_flight() -> None:
    reading, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def read_after(position: int, limit: int) -> list[Envelope]:
        reading.set()
        release.wait(5)
        finished.append("read")
        return []

    async def scenario() -> None:
        follower = LogFollower(LiveHub(), read_after, head=lambda: 0)
        await follower.start()
        follower.wake_threadsafe()
        assert await asyncio.to_thread(reading.wait, 5)
        stopping = asyncio.ensure_future(follower.stop())
        await asyncio.sleep(0.05)
        assert not stopping.done()  # the read is still running in its thread
        release.set()
        await stopping
        finished.append("stopped")

    asyncio.run(scenario())
    assert finished == ["read", "stopped"]
