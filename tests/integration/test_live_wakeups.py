"""What wakes the live follower on PostgreSQL: this process's commits once (the store's
callback, not again by their NOTIFY), and another process's commits by NOTIFY."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from entrypoints.container import build, close, init_db, live_wakeups
from tests.conftest import settings_for

pytestmark = pytest.mark.postgres


class Wakes:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.count += 1

    def settle(self, seconds: float = 1.0) -> int:
        """The count once no wake came for a while (a NOTIFY arrives after its commit)."""
        last, deadline = -1, time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.lock:
                now = self.count
            if now == last:
                return now
            last = now
            time.sleep(seconds)
        raise AssertionError("the wakes never settled")


def test_own_commits_wake_once_and_another_process_wakes_by_notify(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = settings_for("postgres", request, tmp_path)
    ours, other = build(settings), build(settings)  # two stores, two pools: two processes
    init_db(ours)
    init_db(other)
    wakes = Wakes()
    stop = live_wakeups(ours)(wakes)
    try:
        start = wakes.settle()  # the listener wakes once when it starts listening
        for i in range(5):
            ours.sessions().record("s-own", "custom.tick", {"i": i})
        assert wakes.settle() - start == 5  # the commits' callbacks; their NOTIFYs are skipped
        other.sessions().record("s-other", "custom.tick", {"i": 0})
        assert wakes.settle() - start == 6  # another writer's commit, heard by NOTIFY
    finally:
        stop()
        close(ours)
        close(other)
