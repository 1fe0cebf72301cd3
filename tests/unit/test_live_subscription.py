"""A subscription's buffer while its stream replays: what the hub offers is kept, whatever
heartbeat falls meanwhile; only an overflow or the end stops it."""

from __future__ import annotations

import asyncio
import json

from adapters.live.hub import LiveEvent, Signal, Subscription


def event(seq: int) -> LiveEvent:
    return LiveEvent(seq, seq, "s", None, "custom.tick", json.dumps({"i": seq}))


def drain(subscription: Subscription) -> list[LiveEvent | Signal]:
    async def take() -> list[LiveEvent | Signal]:
        taken: list[LiveEvent | Signal] = []
        while True:
            item = await subscription.next()
            taken.append(item)
            if item is Signal.CLOSED:
                return taken

    return asyncio.run(take())


def test_a_heartbeat_during_the_replay_loses_no_event() -> None:
    subscription = Subscription(session_id="s")
    subscription.offer(event(1))
    subscription.raise_signal(Signal.PING)  # the hub's timer, while the stream replays
    subscription.offer(event(2))
    subscription.offer(event(3))
    subscription.raise_signal(Signal.CLOSED)
    taken = drain(subscription)
    assert [item.seq for item in taken if isinstance(item, LiveEvent)] == [1, 2, 3]


def test_a_heartbeat_before_the_hand_over_leaves_every_event_for_the_sink() -> None:
    subscription = Subscription(session_id="s")
    subscription.raise_signal(Signal.PING)
    subscription.offer(event(1))
    subscription.offer(event(2))

    class Sink:
        def deliver(self, event: LiveEvent) -> None: ...
        def ping(self) -> None: ...
        def close(self) -> None: ...

    assert [e.seq for e in subscription.attach(Sink())] == [1, 2]
    assert subscription.signal is None


def test_an_overflow_stops_the_buffer_and_says_so() -> None:
    subscription = Subscription(session_id="s", budget=20)
    subscription.offer(event(1))
    subscription.offer(event(2))  # more than 20 bytes waiting: the stream must resume later
    subscription.offer(event(3))
    subscription.raise_signal(Signal.PING)  # a heartbeat does not hide the overflow
    assert drain_until_signal(subscription) == [Signal.OVERFLOW]


def drain_until_signal(subscription: Subscription) -> list[LiveEvent | Signal]:
    async def take() -> list[LiveEvent | Signal]:
        taken: list[LiveEvent | Signal] = []
        while not taken or isinstance(taken[-1], LiveEvent):
            taken.append(await subscription.next())
        return taken

    return asyncio.run(take())
