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


def test_stop_ends_the_follower_even_when_woken_at_the_same_instant() -> None:
    """On Python 3.11, `asyncio.wait_for` swallows a cancellation that arrives together with
    its result (the wake-up of a commit just before shutdown): `stop` must end it anyway
    (a test run hung in the app's shutdown)."""

    async def scenario() -> None:
        follower = LogFollower(LiveHub(), lambda position, limit: [], head=lambda: 0)
        follower.poll_seconds = 0.05
        await follower.start()
        for _ in range(3):
            await asyncio.sleep(0)  # the follower waits for a wake-up
        follower._wake.set()  # a commit wakes it ...
        stopping = asyncio.ensure_future(follower.stop())  # ... as the app shuts down
        done, _ = await asyncio.wait({stopping}, timeout=2)
        assert stopping in done, "the follower did not stop"

    asyncio.run(scenario())
