"""Group commit (application/writer.py): commands that queue up are written together, each
with its own outcome."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from application.writer import GroupWriter
from tests.unit.builders import meta, new_deal


class FakeStore:
    """Records each transaction; refuses any that holds an aggregate named in `refuse`."""

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []
        self.refuse: set[str] = set()
        self.error: BaseException = IntegrityError("version taken")
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def commit(self, aggregates: Sequence[Any], events: Sequence[Any]) -> list[Any]:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(timeout=10)
            self.gate = None
        keys = [aggregate.deal_id for aggregate in aggregates]
        if self.refuse & set(keys):
            raise self.error
        self.transactions.append(keys)
        key_of = {aggregate.id: aggregate.deal_id for aggregate in aggregates}
        seen: Counter[str] = Counter()
        written = []
        for event in events:  # "<deal>#<n>": the n-th event of that deal in this commit
            key = key_of[event.originator_id]
            written.append(f"{key}#{seen[key]}")
            seen[key] += 1
        return written


def deal(key: str, events: int = 1) -> Any:
    from domain import payloads as p

    made = new_deal(deal_id=key)
    for i in range(events - 1):
        made.update(meta(), made.updated_at, p.DealUpdatedPayload(deal_id=key, name=f"n{i}"))
    return made


def test_a_lone_command_is_written_at_once() -> None:
    store = FakeStore()
    writer = GroupWriter(store)  # type: ignore[arg-type]  # a fake with commit()
    assert list[Any](writer.write([deal("D1", events=2)])) == ["D1#0", "D1#1"]
    assert store.transactions == [["D1"]]
    assert (writer.groups, writer.commands) == (1, 1)
    assert writer.write([]) == []
    unchanged = deal("D2")
    unchanged.collect_events()
    assert writer.write([unchanged]) == []
    assert writer.groups == 1


def test_commands_that_queue_up_share_one_transaction_and_keep_their_answers() -> None:
    store = FakeStore()
    store.gate = threading.Event()
    writer = GroupWriter(store, max_group=2)  # type: ignore[arg-type]
    queue = WatchedQueue()
    writer._queue = queue
    answers: dict[str, Any] = {}

    def write(key: str, events: int) -> None:
        answers[key] = writer.write([deal(key, events)])

    first = threading.Thread(target=write, args=("D1", 1))
    first.start()
    assert store.entered.wait(timeout=10)  # D1 is being written; the others queue up
    others = [threading.Thread(target=write, args=(k, n)) for k, n in [("D2", 2), ("D3", 1)]]
    for thread in others:
        thread.start()
    queue.wait_for(2)
    third = threading.Thread(target=write, args=("D4", 3))
    third.start()
    queue.wait_for(3)
    store.gate.set()
    for thread in [first, *others, third]:
        thread.join(timeout=10)
    assert store.transactions[0] == ["D1"]
    # the next writer takes the first two that queued (max_group), then the last alone
    assert [sorted(t) for t in store.transactions[1:]] == [["D2", "D3"], ["D4"]]
    assert all(len(t) <= 2 for t in store.transactions)
    assert answers == {
        "D1": ["D1#0"],
        "D2": ["D2#0", "D2#1"],
        "D3": ["D3#0"],
        "D4": ["D4#0", "D4#1", "D4#2"],
    }
    assert (writer.groups, writer.commands) == (3, 4)


class WatchedQueue(deque[Any]):
    """The writer's queue, telling a test when callers have queued up (no sleeps)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()

    def append(self, item: Any) -> None:
        with self.changed:
            super().append(item)
            self.changed.notify_all()

    def wait_for(self, length: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self) >= length, timeout=10)


def test_a_failed_group_is_written_again_one_by_one() -> None:
    store = FakeStore()
    writer = GroupWriter(store)  # type: ignore[arg-type]
    good, bad, other = [FakePending(deal(k)) for k in ("D1", "D2", "D3")]
    store.refuse = {"D2"}
    writer._commit([good.pending, bad.pending, other.pending])
    assert store.transactions == [["D1"], ["D3"]]
    assert (
        good.pending.done
        and list[Any](good.pending.written) == ["D1#0"]
        and good.pending.error is None
    )
    assert list[Any](other.pending.written) == ["D3#0"]
    assert bad.pending.done and isinstance(bad.pending.error, IntegrityError)
    assert (writer.groups, writer.commands) == (2, 2)


def test_a_lone_failure_is_raised_to_its_caller() -> None:
    store = FakeStore()
    store.refuse = {"D1"}
    writer = GroupWriter(store)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        writer.write([deal("D1")])
    assert (writer.groups, writer.commands) == (0, 0)
    assert not writer._writing
    store.refuse = set()
    assert list[Any](writer.write([deal("D2")])) == ["D2#0"]


def test_an_interrupt_fails_the_whole_group_without_retrying() -> None:
    store = FakeStore()
    store.refuse = {"D1"}
    store.error = KeyboardInterrupt()
    writer = GroupWriter(store)  # type: ignore[arg-type]
    first, second = FakePending(deal("D1")), FakePending(deal("D2"))
    writer._commit([first.pending, second.pending])
    assert store.transactions == []
    assert isinstance(first.pending.error, KeyboardInterrupt)
    assert isinstance(second.pending.error, KeyboardInterrupt)
    assert first.pending.done and second.pending.done


class FakePending:
    def __init__(self, aggregate: Any) -> None:
        from application.writer import _Pending

        self.pending = _Pending([aggregate], aggregate.collect_events())


def test_a_group_answers_each_command_with_its_own_events() -> None:
    store = FakeStore()
    writer = GroupWriter(store)  # type: ignore[arg-type]
    pendings = [FakePending(deal(key, events)) for key, events in [("D1", 2), ("D2", 1), ("D3", 3)]]
    writer._commit([each.pending for each in pendings])
    assert [list[Any](each.pending.written) for each in pendings] == [
        ["D1#0", "D1#1"],
        ["D2#0"],
        ["D3#0", "D3#1", "D3#2"],
    ]
    assert store.transactions == [["D1", "D2", "D3"]]
