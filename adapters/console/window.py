"""Events per minute by domain over the last hour, kept in memory by following the log.

The events table has no index on time (every read walks an index by session, run or
position), so the console does not count by timestamp: it reads the log forward from the
last position it saw (the primary key) and adds each event to a per-minute bucket. The
first read starts at most `BACKFILL` events behind the head, so a busy store is not read
whole; `covers_from` says where the window really starts then."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from domain.envelope import Envelope

MINUTES = 60
PAGE = 1000
BACKFILL = 20_000  # events read back on the first refresh
MAX_PAGES = 50  # per refresh: a burst larger than this is caught up at the next one


class LogReader(Protocol):
    """The two reads of the query service that the window needs."""

    def head(self) -> int: ...

    def get_events_after(self, position: int = 0, limit: int = 100) -> list[Envelope]: ...


@dataclass(frozen=True)
class Minute:
    start: datetime
    by_domain: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_domain.values())


class ActivityWindow:
    def __init__(
        self,
        queries: LogReader,
        domain_of: Callable[[str], str],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.queries = queries
        self.domain_of = domain_of
        self.now = now
        self.position: int | None = None
        self.covers_from: datetime | None = None
        self._buckets: dict[datetime, Counter[str]] = {}
        self._lock = threading.Lock()

    def refresh(self) -> None:
        with self._lock:
            if self.position is None:
                self.position = max(0, self.queries.head() - BACKFILL)
                self.covers_from = None if self.position == 0 else self.now()
            for _ in range(MAX_PAGES):
                events = self.queries.get_events_after(self.position, PAGE)
                for envelope in events:
                    minute = envelope.timestamp.replace(second=0, microsecond=0)
                    self._buckets.setdefault(minute, Counter())[self.domain_of(envelope.type)] += 1
                    self.position = envelope.position or self.position
                    if self.covers_from is not None and envelope.timestamp < self.covers_from:
                        self.covers_from = envelope.timestamp
                if len(events) < PAGE:
                    break
            oldest = self._start() - timedelta(minutes=1)
            for minute in [m for m in self._buckets if m < oldest]:
                del self._buckets[minute]

    def _start(self) -> datetime:
        return self.now().replace(second=0, microsecond=0) - timedelta(minutes=MINUTES - 1)

    def minutes(self) -> list[Minute]:
        """The last hour, oldest minute first, one entry per minute (empty ones included)."""
        start = self._start()
        with self._lock:
            return [
                Minute(at, dict(self._buckets.get(at, Counter())))
                for at in (start + timedelta(minutes=n) for n in range(MINUTES))
            ]

    def last_minute(self) -> int:
        """Events in the 60 seconds up to now (two partial buckets, weighted)."""
        minutes = self.minutes()
        into = self.now().second / 60
        return round(minutes[-1].total + minutes[-2].total * (1 - into))
