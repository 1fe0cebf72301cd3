"""Live SSE streams through a real uvicorn server: resume with Last-Event-ID, live events,
run streams that end after the terminal event."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from entrypoints.asgi import create_app
from entrypoints.settings import Settings
from tests.e2e.conftest import KEYS, OP, R, W
from tests.e2e.server import running


@pytest.fixture
def base_url(http_settings: Settings) -> Iterator[str]:
    app = create_app(http_settings.model_copy(update={"api_keys": SecretStr(KEYS)}))
    app.state.deps.stream_poll_seconds = 0.05
    app.state.stream_slots.limit = 2  # small, so that the cap is reached in a test
    with running(app) as url:
        yield url


def events_of(lines: Iterator[str], count: int) -> list[dict[str, str]]:
    """The next `count` events from one line iterator kept across calls (a new iterator per
    call would close the stream)."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            current[key] = value
    return events


def read_events(response: httpx.Response, count: int) -> list[dict[str, str]]:
    """The first `count` events of a stream (its line iterator is abandoned afterwards)."""
    return events_of(response.iter_lines(), count)


def emit(client: httpx.Client, n: int, session: str = "s-1") -> None:
    for i in range(n):
        body = {"type": "custom.tick", "payload": {"i": i}, "session_id": session}
        assert client.post("/api/events", json=body, headers=W).status_code == 201


def test_reconnect_with_last_event_id_gets_exactly_the_rest(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        emit(client, 8)
        url = "/api/sessions/s-1/events/stream"
        with client.stream("GET", url, headers=R) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            first = read_events(response, 5)
        assert [e["id"] for e in first] == ["1", "2", "3", "4", "5"]
        resume = {**R, "Last-Event-ID": first[-1]["id"]}
        with client.stream("GET", url, headers=resume) as response:
            rest = read_events(response, 3)
        assert [e["id"] for e in rest] == ["6", "7", "8"]
        assert [json.loads(e["data"])["payload"]["i"] for e in rest] == [5, 6, 7]
        with client.stream("GET", f"{url}?since_seq=7", headers=R) as response:
            assert [e["id"] for e in read_events(response, 1)] == ["8"]


def test_an_event_written_after_the_stream_caught_up_arrives_live(base_url: str) -> None:
    """Each event is written only after the stream has delivered the one before, so the
    replay cannot have carried it: it came through the live path."""
    with (
        httpx.Client(base_url=base_url, timeout=10) as client,
        httpx.Client(base_url=base_url, timeout=10) as writer,
    ):
        emit(client, 1)
        with client.stream("GET", "/api/sessions/s-1/events/stream", headers=R) as response:
            lines = response.iter_lines()
            assert [e["id"] for e in events_of(lines, 1)] == ["1"]  # the replay
            for n in (2, 3):
                body = {"type": "custom.tick", "payload": {"n": n}, "session_id": "s-1"}
                assert writer.post("/api/events", json=body, headers=W).status_code == 201
                (live,) = events_of(lines, 1)
                assert (live["id"], live["event"]) == (str(n), "custom.tick")
                assert json.loads(live["data"])["payload"] == {"n": n}


def test_an_idle_stream_gets_heartbeats(http_settings: Settings) -> None:
    app = create_app(http_settings.model_copy(update={"api_keys": SecretStr(KEYS)}))
    app.state.deps.heartbeat_seconds = 0.2
    with running(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        emit(client, 1, session="s-idle")
        with client.stream("GET", "/api/sessions/s-idle/events/stream", headers=R) as response:
            lines = response.iter_lines()
            assert [e["id"] for e in events_of(lines, 1)] == ["1"]
            started = time.monotonic()
            pings = 0
            for line in lines:  # nothing else is written: only heartbeats can come
                if line == ": ping":
                    pings += 1
                    if pings == 2:
                        break
                else:
                    assert line == "", line
            assert pings == 2
            assert time.monotonic() - started < 5  # every 0.2 s, not the default 15 s


def test_run_stream_ends_after_the_terminal_event(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        client.post("/api/sessions/s-2/runs", json={"run_id": "r-2"}, headers=W)
        client.post("/api/runs/r-2/start", json={}, headers=W)
        client.post("/api/runs/r-2/complete", json={}, headers=W)
        with client.stream("GET", "/api/runs/r-2/events/stream", headers=R) as response:
            events = read_events(response, 10)  # returns when the server closes the stream
        assert [e["event"] for e in events] == ["run_created", "run_started", "run_completed"]
        unknown = client.get("/api/runs/nope/events/stream", headers=R)
        assert unknown.status_code == 404
        bad = client.get("/api/sessions/s-2/events/stream", headers={**R, "Last-Event-ID": "x"})
        assert bad.status_code == 422


def test_streams_per_key_are_capped_and_given_back_when_closed(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        emit(client, 1)
        url = "/api/sessions/s-1/events/stream"
        with (
            client.stream("GET", url, headers=R) as first,
            client.stream("GET", url, headers=R) as second,
        ):
            # (read_events would close a stream: httpx closes an abandoned line iterator)
            assert (first.status_code, second.status_code) == (200, 200)
            with client.stream("GET", url, headers=R) as third:
                assert third.status_code == 429
                assert third.headers["retry-after"] == "5"
                third.read()
                assert third.json()["title"] == "Too many streams"
            with client.stream("GET", url, headers=W) as other_key:
                assert other_key.status_code == 200  # another key has its own slots
                metrics = client.get("/metrics", headers=OP).text
                assert "zakops_live_streams 3.0" in metrics  # the two readers' and this one
        deadline = time.monotonic() + 5
        while True:  # both closed: their slots come back
            with client.stream("GET", url, headers=R) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the closed streams' slots never came back"
            time.sleep(0.05)


def test_a_page_holds_about_a_megabyte_whatever_the_event_size() -> None:
    from adapters.http.sse import FIRST_PAGE, MAX_PAGE, PAGE_BYTES, next_page

    assert next_page(0, 0) == FIRST_PAGE == 1
    assert next_page(1, 200) == MAX_PAGE
    assert next_page(32, 32 * 200) == MAX_PAGE  # small events: the largest page
    assert next_page(32, 32 * 1_000_000) == 1  # 1 MB events: one at a time
    assert next_page(10, 10 * 100_000) == PAGE_BYTES // 100_000


def test_no_page_of_a_replay_holds_more_than_about_a_megabyte_the_first_included() -> None:
    """A slow consumer over large events holds one page: the first page is no exception (it
    was 32 events whatever their size: 16 MB of 500 KB events per stream)."""
    import asyncio
    from datetime import UTC, datetime

    from starlette.types import Message

    from adapters.http.sse import PAGE_BYTES, LiveStream
    from adapters.live.hub import LiveHub
    from domain.envelope import Envelope

    at = datetime(2026, 3, 1, tzinfo=UTC)
    content = "x" * 300_000
    stored = [
        Envelope(
            type="custom.big",
            timestamp=at,
            session_id="s",
            seq=n,
            event_id=f"e-{n}",
            source="test",
            payload={"content": content},
        )
        for n in range(1, 41)
    ]
    pages: list[int] = []

    def replay(after: int, limit: int) -> list[Envelope]:
        page = [e for e in stored if (e.seq or 0) > after][:limit]
        pages.append(sum(len(e.model_dump_json()) for e in page))
        return page

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def catch_up() -> bool:
        hub = LiveHub()
        subscription = hub.subscribe(session_id="s")
        stream = LiveStream(hub, subscription, replay, 0, False, release=lambda: None)
        return await stream._replay(send)

    assert asyncio.run(catch_up()) is False  # caught up with the store
    assert len(sent) == len(stored)
    assert max(pages) <= PAGE_BYTES
