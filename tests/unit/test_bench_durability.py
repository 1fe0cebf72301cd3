"""The benchmark compares like with like: neither the store nor a bench case relaxes durability
(issue 13 found a catch-up case committing with `synchronous_commit = off` / `synchronous =
NORMAL` against a durable raw baseline; that case is gone, and this keeps such settings out)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RELAXED = re.compile(r"synchronous_commit|synchronous\s*=|fsync\s*=\s*off", re.IGNORECASE)


def test_no_commit_mode_is_relaxed_in_the_bench_or_the_store() -> None:
    sources = [*ROOT.glob("bench/*.py"), *ROOT.glob("adapters/persistence/*.py")]
    assert len(sources) > 5
    relaxed = [str(p.relative_to(ROOT)) for p in sources if RELAXED.search(p.read_text())]
    assert relaxed == []
