"""Group commit: commands that arrive together in this process are written together.

A caller hands in the aggregates its command changed. If no write is in progress it becomes
the writer at once (a lone caller pays no added latency); otherwise it waits, and the next
writer takes everything that queued up meanwhile and stores it in one transaction. Each
caller keeps its own outcome: when a group fails (a version conflict with another process,
an event id already taken), its members are written again one by one, so only the one at
fault fails, and it fails alone.

Writers to the same aggregate never share a group: the services serialise them per
aggregate before they decide.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from application.store import EventStore
from domain.envelope import Envelope
from domain.model import ZakopsAggregate, event_id_of

MAX_GROUP = 256  # commands per transaction


@dataclass
class _Pending:
    """One command's unit of work: the aggregates it changed and their new events, in the
    order the command decided them (across aggregates)."""

    aggregates: list[ZakopsAggregate]
    events: list[Any]
    written: list[Envelope | None] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


class GroupWriter:
    def __init__(self, store: EventStore, max_group: int = MAX_GROUP) -> None:
        self.store = store
        self.max_group = max_group
        self._ready = threading.Condition(threading.Lock())
        self._queue: deque[_Pending] = deque()
        self._writing = False
        self.groups = 0  # transactions written (for tests and metrics)
        self.commands = 0  # commands written

    def write(
        self, aggregates: Sequence[ZakopsAggregate], order: Sequence[str] = ()
    ) -> list[Envelope | None]:
        """Store the pending events of `aggregates` (one command, or one batch) and return,
        per event, its envelope with `position` and `seq` (None for internal events), in the
        order stored. Events are stored aggregate by aggregate, or, when `order` lists their
        event ids, in that order (a batch that interleaves aggregates keeps its order in the
        log). Raises what the store raised for this command alone (`IntegrityError` on a
        conflict)."""
        changed = [a for a in aggregates if a.pending_events]
        events = [event for a in changed for event in a.collect_events()]
        if not events:
            return []
        if order:
            rank = {event_id: index for index, event_id in enumerate(order)}
            events.sort(key=lambda event: rank[event_id_of(event)])
        pending = _Pending(changed, events)
        with self._ready:
            self._queue.append(pending)
            while not pending.done:
                if self._writing:
                    self._ready.wait()
                    continue
                self._writing = True
                group = [
                    self._queue.popleft() for _ in range(min(self.max_group, len(self._queue)))
                ]
                self._ready.release()
                try:
                    self._commit(group)
                finally:
                    self._ready.acquire()
                    self._writing = False
                    self._ready.notify_all()
        if pending.error is not None:
            raise pending.error
        return pending.written

    def _commit(self, group: list[_Pending]) -> None:
        try:
            written = self.store.commit(
                [a for item in group for a in item.aggregates],
                [event for item in group for event in item.events],
            )
        except BaseException as error:
            if len(group) == 1 or not isinstance(error, Exception):
                for item in group:
                    item.error, item.done = error, True
                return
            for item in group:  # each alone, each with its own outcome
                self._commit([item])
            return
        self.groups += 1
        self.commands += len(group)
        start = 0
        for item in group:
            item.written = written[start : start + len(item.events)]
            start += len(item.events)
            item.done = True
