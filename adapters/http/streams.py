"""Live Server-Sent Event streams: a session, a run, or the whole log (the activity feed).

Each envelope is sent as an SSE event whose `id` is its session `seq` (its log `position`
for the whole log). A client that reconnects with `Last-Event-ID` (or `since_seq`) gets
exactly the events after it, replayed from the store, then the live ones from the process's
one live hub (see adapters/http/sse.py and adapters/live/). A run stream ends after the
run's terminal event. Each API key may hold `max_streams_per_key` streams open (429 past).
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from adapters.http.auth import RANK, Unauthorized, bearer_credentials, bearer_of, identify
from adapters.http.common import ERRORS, Deps, Reader
from adapters.http.deps import ApiDeps
from adapters.http.problems import TooManyStreams
from adapters.http.sse import LiveStream, Replay, Shape
from adapters.live.hub import LiveHub
from application.queries import MAX_SEQ
from domain.errors import DomainError, InvalidInput
from domain.text import storable_problem

router = APIRouter(tags=["streams"], responses=ERRORS)
Id = Annotated[str, Path(min_length=1, max_length=64)]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)]
SinceSeq = Annotated[int | None, Query(ge=0, le=MAX_SEQ)]
SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "SSE: id = seq, data = envelope"}
}
SSE_LOG: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}},
        "description": "SSE: id = position, data = envelope",
    }
}


def start_from(last_event_id: str | None, since_seq: int | None) -> int:
    if last_event_id is not None:
        value = last_event_id.strip()
        if not value.isdigit() or int(value) > MAX_SEQ:
            raise InvalidInput("Last-Event-ID", "must be the seq of the last event received")
        return int(value)
    return since_seq or 0


class StreamSlots:
    """Open streams per API key, up to `limit` each (keys are told apart by a digest of
    the secret, which is never kept)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, secret: str | None) -> str:
        key = hashlib.sha256((secret or "").encode()).hexdigest()[:32]
        with self._lock:
            if self._open.get(key, 0) >= self.limit:
                raise TooManyStreams(f"this key has {self.limit} streams open; close one first")
            self._open[key] = self._open.get(key, 0) + 1
        return key

    def give_back(self, key: str) -> None:
        with self._lock:
            left = self._open.get(key, 1) - 1
            if left > 0:
                self._open[key] = left
            else:
                self._open.pop(key, None)


Kind = Literal["session", "run", "log"]


async def make_stream(
    state: Any, deps: ApiDeps, kind: Kind, key: str | None, after: int, secret: str | None
) -> LiveStream:
    """Check the stream's key (and that a run exists), take a slot for the API key,
    subscribe (before the replay reads anything), and return the stream. Raises what the
    routes answer: `InvalidInput`, `NotFound`, `TooManyStreams`."""
    if key is not None:
        problem = storable_problem(key)
        if problem is not None:
            raise InvalidInput(f"{kind}_id", problem)
    if kind == "run":
        assert key is not None
        await run_in_threadpool(deps.runs.load, key)  # 404 for an unknown run, before streaming
    queries = deps.queries
    replay: Replay
    if kind == "session":
        replay = lambda seq, n: queries.get_events_by_session(key or "", seq, n)  # noqa: E731
    elif kind == "run":
        replay = lambda seq, n: queries.get_events_by_run(key or "", seq, n)  # noqa: E731
    else:
        replay = queries.get_events_after
    slots: StreamSlots = state.stream_slots
    hub: LiveHub = state.live_hub
    slot = slots.take(secret)
    subscription = hub.subscribe(
        session_id=key if kind == "session" else None, run_id=key if kind == "run" else None
    )
    return LiveStream(
        hub,
        subscription,
        replay,
        after,
        until_terminal=kind == "run",
        release=lambda: slots.give_back(slot),
        by_position=kind == "log",
    )


def open_stream(
    request: Request,
    replay: Replay,
    after: int,
    *,
    session_id: str | None = None,
    run_id: str | None = None,
    until_terminal: bool = False,
    holder: str | None = None,
    shape: Shape | None = None,
) -> LiveStream:
    """Take a slot for the key, subscribe (before the replay reads anything), and stream.
    `holder` names whose slot the stream takes (the bearer key by default; the console
    passes its session's key digest); `shape` may rewrite or drop each event before it is
    sent (the console sends timeline rows as HTML)."""
    slots: StreamSlots = request.app.state.stream_slots
    hub: LiveHub = request.app.state.live_hub
    key = slots.take(holder if holder is not None else bearer_of(request))
    subscription = hub.subscribe(session_id=session_id, run_id=run_id)
    return LiveStream(
        hub,
        subscription,
        replay,
        after,
        until_terminal,
        release=lambda: slots.give_back(key),
        by_position=session_id is None and run_id is None,
        shape=shape,
    )


_STREAM_PATH = re.compile(r"/api/(?:(sessions|runs)/([^/]{1,64})/events|events)/stream")


async def serve_stream(state: Any, scope: Scope, receive: Receive, send: Send) -> bool:
    """The streams' lean path, ahead of the app's middleware and routing (each open stream
    then holds a few frames instead of some thirty): the same checks as the routes below,
    done directly on the request. Anything unusual (no or a low key, a bad cursor, an
    unknown run, too many streams) returns False and the app answers it as usual."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return False
    match = _STREAM_PATH.fullmatch(scope["path"])
    if match is None:
        return False
    deps: ApiDeps = state.deps
    headers = dict(scope["headers"])
    secret = bearer_credentials(headers.get(b"authorization", b"").decode("latin-1") or None)
    try:
        if RANK[identify(deps.keys, secret)] < RANK["reader"]:
            return False
        kind: Kind = (
            "log"
            if match.group(1) is None
            else ("session" if match.group(1) == "sessions" else "run")
        )
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = query.get("since_position" if kind == "log" else "since_seq", [None])[-1]
        last = headers.get(b"last-event-id")
        after = start_from(
            None if last is None else last.decode("latin-1"),
            None if given is None else _cursor(given),
        )
        if kind == "log" and last is None and given is None:
            after = await run_in_threadpool(deps.queries.head)
        stream = await make_stream(state, deps, kind, match.group(2), after, secret)
    except (Unauthorized, DomainError, TooManyStreams, ValueError):
        return False
    await stream(scope, receive, send)
    return True


def _cursor(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_SEQ:
        raise ValueError(text)
    return value


@router.get(
    "/api/sessions/{session_id}/events/stream",
    dependencies=Reader,
    responses=SSE,
    summary="Follow a session live (resume with Last-Event-ID)",
)
async def stream_session(
    request: Request,
    d: Deps,
    session_id: Id,
    since_seq: SinceSeq = None,
    last_event_id: LastEventId = None,
) -> Response:
    after = start_from(last_event_id, since_seq)
    secret = bearer_of(request)
    return adapt(await make_stream(request.app.state, d, "session", session_id, after, secret))


@router.get(
    "/api/runs/{run_id}/events/stream",
    dependencies=Reader,
    responses=SSE,
    summary="Follow a run live; ends after its terminal event",
)
async def stream_run(
    request: Request,
    d: Deps,
    run_id: Id,
    since_seq: SinceSeq = None,
    last_event_id: LastEventId = None,
) -> Response:
    after = start_from(last_event_id, since_seq)
    secret = bearer_of(request)
    return adapt(await make_stream(request.app.state, d, "run", run_id, after, secret))


@router.get(
    "/api/events/stream",
    dependencies=Reader,
    responses=SSE_LOG,
    summary="Follow the whole log live (the activity feed; resume with Last-Event-ID)",
)
async def stream_log(
    request: Request,
    d: Deps,
    since_position: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    last_event_id: LastEventId = None,
) -> Response:
    after = start_from(last_event_id, since_position)
    if last_event_id is None and since_position is None:
        after = await run_in_threadpool(d.queries.head)  # from now on, unless asked
    secret = bearer_of(request)
    return adapt(await make_stream(request.app.state, d, "log", None, after, secret))


class _Asgi(Response):
    """Hands an ASGI callable to FastAPI as the route's response."""

    def __init__(self, app: LiveStream) -> None:
        super().__init__()
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def adapt(stream: LiveStream) -> Response:
    return _Asgi(stream)
