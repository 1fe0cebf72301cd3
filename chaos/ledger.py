"""What the store holds against what the clients were told: every acknowledged event stored
exactly once, and `seq` dense 1..n in every session. Read through the HTTP API, page by page."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.http import HEADERS


@dataclass(frozen=True)
class Account:
    acknowledged: int
    stored: int
    lost: int  # acknowledged, not stored
    duplicated: int  # stored more than once (by `payload.key`, whatever the id)
    gaps: int  # seq numbers missing from 1..max, over all sessions


def session_events(base: str, session: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    since: int | None = 0
    with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as client:
        while since is not None:
            params = {"since_seq": since, "limit": 1000}
            response = client.get(f"/api/sessions/{session}/events", params=params)
            response.raise_for_status()
            page = response.json()
            events += page["events"]
            since = page["next_since_seq"]
    return events


def missing_seqs(seqs: list[int]) -> int:
    return len(set(range(1, max(seqs, default=0) + 1)) - set(seqs))


def account(base: str, sessions: Iterable[str], acknowledged: set[str]) -> Account:
    ids: Counter[str] = Counter()
    keys: Counter[str] = Counter()
    gaps = 0
    for session in sessions:
        events = session_events(base, session)
        ids.update(str(e["event_id"]) for e in events)
        keys.update(str(e["payload"]["key"]) for e in events)
        gaps += missing_seqs([int(e["seq"]) for e in events])
    stored = sum(ids.values())
    duplicated = stored - len(keys)  # ids are unique in the store; keys need not be
    return Account(len(acknowledged), stored, len(acknowledged - set(ids)), duplicated, gaps)
