"""The cache's bounds at their edges: the byte count always equals what the entries hold."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

import pytest

from application.cache import BoundedCache, approx_bytes


def value(size: int) -> SimpleNamespace:
    return SimpleNamespace(text="x" * size)


def held(cache: BoundedCache) -> int:
    return sum(approx_bytes(v) for v in (cache.get(k) for k in list(cache._entries)))


def test_a_value_exactly_the_budget_is_cached_and_a_full_budget_evicts_nothing() -> None:
    exact = value(100)
    cache = BoundedCache(max_items=10, max_bytes=approx_bytes(exact))
    key = uuid4()
    cache.put(key, exact)
    assert cache.get(key) is exact
    assert cache.bytes == cache.max_bytes


def test_the_byte_count_follows_replacements_and_evictions() -> None:
    small, medium, large = value(10), value(1_000), value(5_000)
    budget = approx_bytes(medium) + approx_bytes(large)
    cache = BoundedCache(max_items=10, max_bytes=budget)
    a, b, c = uuid4(), uuid4(), uuid4()
    cache.put(a, small)
    cache.put(b, medium)
    assert cache.bytes == held(cache) == approx_bytes(small) + approx_bytes(medium)
    cache.put(a, large)  # replaced: recounted, and the budget is met exactly
    assert cache.bytes == held(cache) == budget
    assert len(cache) == 2
    cache.put(c, small)  # over budget: the least recently used (b) leaves
    with pytest.raises(KeyError):
        cache.get(b)
    assert cache.bytes == held(cache) == approx_bytes(large) + approx_bytes(small)


def test_dict_keys_count_too() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)  # unmarshallable: measured item by item
    short = SimpleNamespace(ids={"k": at})
    long = SimpleNamespace(ids={"k" * 1000: at})
    assert approx_bytes(long) - approx_bytes(short) >= 999
