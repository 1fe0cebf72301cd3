"""The aggregate cache is bounded in bytes and in count, least recently used first out."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from uuid import UUID, uuid4

import pytest

from application.cache import BoundedCache, approx_bytes


def state(text_bytes: int) -> SimpleNamespace:
    return SimpleNamespace(name="x" * text_bytes, at=datetime.now(UTC), ids={"a": 1})


def test_sizes_follow_the_text_an_aggregate_holds() -> None:
    small, large = approx_bytes(state(10)), approx_bytes(state(100_000))
    assert 99_990 <= large - small <= 100_100
    nested = SimpleNamespace(history=[{"at": datetime.now(UTC), "note": "y" * 50_000}])
    assert approx_bytes(nested) >= 50_000  # measured item by item around the datetime


def test_the_least_recently_used_leave_when_the_bytes_run_out() -> None:
    cache = BoundedCache(max_items=100, max_bytes=350_000)
    keys = [uuid4() for _ in range(4)]
    for key in keys[:3]:
        cache.put(key, state(100_000))
    cache.get(keys[0])  # used: the oldest now is keys[1]
    cache.put(keys[3], state(100_000))
    assert cache.bytes <= 350_000
    with pytest.raises(KeyError):
        cache.get(keys[1])
    assert {id(cache.get(k)) for k in (keys[0], keys[2], keys[3])}


def test_the_count_is_bounded_too_and_replacing_a_value_recounts_it() -> None:
    cache = BoundedCache(max_items=2, max_bytes=10**9)
    a, b, c = uuid4(), uuid4(), uuid4()
    for key in (a, b, c):
        cache.put(key, state(10))
    assert len(cache) == 2
    with pytest.raises(KeyError):
        cache.get(a)
    before = cache.bytes
    cache.put(b, state(1000))
    assert cache.bytes == before - approx_bytes(state(10)) + approx_bytes(state(1000))


def test_a_value_larger_than_the_budget_is_not_cached_and_evict_returns_it() -> None:
    cache = BoundedCache(max_items=10, max_bytes=1000)
    key: UUID = uuid4()
    cache.put(key, state(5000))
    with pytest.raises(KeyError):
        cache.get(key)
    assert cache.bytes == 0
    value = state(10)
    cache.put(key, value)
    assert cache.get(key, evict=True) is value
    assert cache.bytes == 0
    assert bool(cache) is True  # the library tests `if cache:`; empty still means "caching"
