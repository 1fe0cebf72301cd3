"""The aggregate cache, bounded in bytes as well as in count.

The library's LRU cache counts aggregates; an aggregate that keeps large values (a deal's
1 MB display name) made a count bound of 1,000 worth a gigabyte. This cache keeps the most
recently used aggregates while their estimated size stays under `max_bytes` (and their
number under `max_items`); an aggregate larger than the whole budget is not cached at all.
It implements the library's cache interface (`get(key, evict=...)`, `put(key, value)`).
"""

from __future__ import annotations

import marshal
import threading
from collections import OrderedDict
from typing import Any
from uuid import UUID

from eventsourcing.application import Cache

_OTHER_BYTES = 64  # a value marshal cannot measure (a UUID, a datetime), roughly


def approx_bytes(aggregate: object) -> int:
    """A cheap estimate of what an aggregate's state holds: each attribute's size as
    `marshal` writes it (in C, so a session's hundred recent ids cost microseconds);
    containers holding values marshal cannot write (datetimes) are measured item by item."""
    return sum(_bytes_of(value) for value in vars(aggregate).values())


def _bytes_of(value: object) -> int:
    try:
        return len(marshal.dumps(value))  # type: ignore[arg-type]  # unmarshallable values raise ValueError, handled below
    except ValueError:
        if isinstance(value, dict):
            return sum(_bytes_of(k) + _bytes_of(v) for k, v in value.items())
        if isinstance(value, list | tuple | set | frozenset):
            return sum(_bytes_of(item) for item in value)
        return _OTHER_BYTES


class BoundedCache(Cache[UUID, Any]):
    def __init__(self, max_items: int, max_bytes: int) -> None:
        super().__init__()
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[UUID, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: UUID, *, evict: bool = False) -> Any:
        with self._lock:
            if evict:
                value, size = self._entries.pop(key)
                self.bytes -= size
                return value
            value, _ = self._entries[key]
            self._entries.move_to_end(key)
            return value

    def put(self, key: UUID, value: Any | None) -> None:
        if value is None:
            return
        size = approx_bytes(value)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            if size > self.max_bytes:
                return  # larger than the whole budget: loaded from the store when needed
            self._entries[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes or len(self._entries) > self.max_items:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return True  # the library tests `if self.cache`: an empty cache is still a cache
