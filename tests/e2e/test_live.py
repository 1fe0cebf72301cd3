"""The live hub through a real server: the hand-over from replay to live loses nothing and
repeats nothing while events are being written; a slow client is told where to resume; the
whole-log feed; and on PostgreSQL, events written by another process arrive by NOTIFY."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from adapters.http.sse import LiveStream
from entrypoints.asgi import create_app
from entrypoints.container import build, close, init_db
from entrypoints.settings import Settings
from tests.conftest import settings_for
from tests.e2e.conftest import KEYS, R, W
from tests.e2e.server import running, serving


def serve(
    settings: Settings, poll_seconds: float = 0.05, heartbeat_seconds: float = 15.0
) -> Iterator[str]:
    app = create_app(settings.model_copy(update={"api_keys": SecretStr(KEYS)}))
    app.state.deps.stream_poll_seconds = poll_seconds
    app.state.deps.heartbeat_seconds = heartbeat_seconds
    with running(app) as url:
        yield url


@pytest.fixture
def base_url(http_settings: Settings) -> Iterator[str]:
    yield from serve(http_settings)


def frames(response: httpx.Response) -> Iterator[dict[str, str]]:
    """SSE events as dicts (id, event, data); comments (pings) skipped."""
    current: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if current:
                yield current
            current = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            current[key] = value


def write(base_url: str, session: str, count: int, size: int = 0) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for i in range(count):
            body = {"type": "custom.tick", "session_id": session, "payload": {"i": i}}
            if size:
                body["payload"] = {"i": i, "pad": "x" * size}
            assert client.post("/api/events", json=body, headers=W).status_code == 201


@pytest.fixture(params=[15.0, 0.002], ids=["heartbeat-15s", "heartbeat-2ms"])
def hand_over_url(http_settings: Settings, request: pytest.FixtureRequest) -> Iterator[str]:
    """A server whose heartbeat falls never, or constantly, while the streams replay (a
    heartbeat during a replay once dropped the events offered until the hand-over)."""
    yield from serve(http_settings, heartbeat_seconds=request.param)


def test_the_hand_over_during_writes_has_no_gap_and_no_duplicate(hand_over_url: str) -> None:
    base_url = hand_over_url
    total = 300
    write(base_url, "s-live", 50)  # some history to replay
    writer = threading.Thread(target=write, args=(base_url, "s-live", total - 50))
    writer.start()  # writing while the streams replay and join the live feed
    try:
        for resume in ("0", "17", "49"):
            with (
                httpx.Client(base_url=base_url, timeout=30) as client,
                client.stream(
                    "GET",
                    "/api/sessions/s-live/events/stream",
                    headers={**R, "Last-Event-ID": resume},
                ) as response,
            ):
                ids: list[int] = []
                for event in frames(response):
                    ids.append(int(event["id"]))
                    if len(ids) == total - int(resume):
                        break
            assert ids == list(range(int(resume) + 1, total + 1))
    finally:
        writer.join()


def test_a_live_event_arrives_after_the_stream_is_open(base_url: str) -> None:
    write(base_url, "s-open", 1)
    with (
        httpx.Client(base_url=base_url, timeout=10) as client,
        client.stream("GET", "/api/sessions/s-open/events/stream", headers=R) as response,
    ):
        events = frames(response)
        assert next(events)["id"] == "1"  # the replay: the stream is open and caught up
        started = time.monotonic()
        write(base_url, "s-open", 1)  # written only now
        live = next(events)
        assert live["id"] == "2"
        assert time.monotonic() - started < 2


def test_a_client_too_far_behind_is_told_where_to_resume(http_settings: Settings) -> None:
    app = create_app(http_settings.model_copy(update={"api_keys": SecretStr(KEYS)}))
    app.state.deps.stream_poll_seconds = 0.05
    app.state.live_hub.budget = 64 * 1024  # small, so that a test can exceed it
    url = "/api/sessions/s-slow/events/stream"
    with running(app) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        write(base_url, "s-slow", 1)
        with client.stream("GET", url, headers=R) as response:
            events = frames(response)
            assert next(events)["id"] == "1"
            write(base_url, "s-slow", 400, size=60_000)  # 24 MB while the client reads nothing
            seen: list[int] = []
            for event in events:
                if event["event"] == "overflow":
                    note = json.loads(event["data"])
                    break
                seen.append(int(event["id"]))
            else:
                pytest.fail("the stream ended without saying why")
        assert seen == list(range(2, 2 + len(seen)))  # what arrived is in order, no gap
        assert len(seen) < 400
        assert note["resume_after"] == (seen[-1] if seen else 1)
        resume = {**R, "Last-Event-ID": str(note["resume_after"])}
        with client.stream("GET", url, headers=resume) as response:
            events = frames(response)
            rest = [int(next(events)["id"]) for _ in range(401 - note["resume_after"])]
        assert rest == list(range(note["resume_after"] + 1, 402))


def test_the_whole_log_feed_resumes_by_position(base_url: str) -> None:
    write(base_url, "s-a", 2)
    write(base_url, "s-b", 2)
    with httpx.Client(base_url=base_url, timeout=10) as client:
        with client.stream("GET", "/api/events/stream?since_position=0", headers=R) as response:
            events = frames(response)
            first = [next(events) for _ in range(4)]
            assert [int(e["id"]) for e in first] == [
                json.loads(e["data"])["position"] for e in first
            ]
            write(base_url, "s-c", 1)
            live = next(events)
        assert json.loads(live["data"])["session_id"] == "s-c"
        resume = {**R, "Last-Event-ID": first[1]["id"]}
        with client.stream("GET", "/api/events/stream", headers=resume) as response:
            events = frames(response)
            again = [next(events)["id"] for _ in range(3)]
        assert again == [first[2]["id"], first[3]["id"], live["id"]]


@pytest.mark.postgres
def test_events_another_process_writes_arrive_by_notify(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = settings_for("postgres", request, tmp_path).model_copy(
        update={"api_keys": SecretStr(KEYS), "data_dir": tmp_path}
    )
    other = build(settings)  # another writer: its own store and pool, no shared callbacks
    init_db(other)
    try:
        other.sessions().record("s-notify", "custom.tick", {"i": 0})
        for base_url in serve(settings, poll_seconds=30):  # the poll would come far too late
            with (
                httpx.Client(base_url=base_url, timeout=10) as client,
                client.stream("GET", "/api/sessions/s-notify/events/stream", headers=R) as response,
            ):
                events = frames(response)
                assert next(events)["id"] == "1"
                started = time.monotonic()
                other.sessions().record("s-notify", "custom.tick", {"i": 1})
                assert next(events)["id"] == "2"
                assert time.monotonic() - started < 3
    finally:
        close(other)


def test_a_live_stream_owns_its_connection_without_a_task(http_settings: Settings) -> None:
    """Caught up, a stream leaves uvicorn: no ASGI task, no uvicorn protocol; the hub
    writes to its socket; a client that leaves gives its subscription back."""
    app = create_app(http_settings.model_copy(update={"api_keys": SecretStr(KEYS)}))
    app.state.deps.stream_poll_seconds = 0.05
    hub = app.state.live_hub
    with serving(app) as (base_url, server), httpx.Client(base_url=base_url, timeout=10) as client:
        write(base_url, "s-own", 1)
        with client.stream("GET", "/api/sessions/s-own/events/stream", headers=R) as response:
            events = frames(response)
            assert next(events)["id"] == "1"
            deadline = time.monotonic() + 5
            while not any(isinstance(c, LiveStream) for c in list(server.server_state.connections)):
                assert time.monotonic() < deadline, "the stream never took its connection"
                time.sleep(0.02)
            open_now: list[object] = list(server.server_state.connections)
            streams = [c for c in open_now if isinstance(c, LiveStream)]
            assert len(streams) == 1
            assert streams[0].outlet is not None  # its socket is written by the writer thread
            assert not server.server_state.tasks  # no coroutine serves it
            write(base_url, "s-own", 2)
            assert [next(events)["id"] for _ in range(2)] == ["2", "3"]
        deadline = time.monotonic() + 5
        while hub.subscribers or any(
            isinstance(c, LiveStream) for c in list(server.server_state.connections)
        ):
            assert time.monotonic() < deadline, "the closed stream was never noticed"
            time.sleep(0.02)


def test_a_server_that_stops_ends_its_live_streams(http_settings: Settings) -> None:
    app = create_app(http_settings.model_copy(update={"api_keys": SecretStr(KEYS)}))
    app.state.deps.stream_poll_seconds = 0.05
    with serving(app) as (base_url, server), httpx.Client(base_url=base_url, timeout=10) as client:
        write(base_url, "s-stop", 1)
        with client.stream("GET", "/api/sessions/s-stop/events/stream", headers=R) as response:
            events = frames(response)
            assert next(events)["id"] == "1"
            time.sleep(0.2)  # live on its own connection
            server.should_exit = True
            started = time.monotonic()
            assert list(events) == []  # the response ends (its last chunk), nothing lost
            assert time.monotonic() - started < 5
