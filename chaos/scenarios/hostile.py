"""3. Every hostile input of issue 10 (items 2 and 5, and malformed JSON without a key) sent
byte for byte to a real server, each on a connection of its own: each gets the 4xx listed
here, never a 5xx, and writes nothing. Two inputs are accepted on purpose (201): a header's
bytes are Latin-1 in HTTP, so a non-UTF-8 byte in a header is a character like another, in a
header no one reads (tests/e2e/test_http_hostile.py) as in an Idempotency-Key."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass

import httpx

from bench.http import HEADERS, KEY
from bench.wire import Connection
from chaos.load import TRANSPORT_ERRORS
from chaos.report import ZERO, Figure, Scope
from chaos.server import Restartable
from chaos.workspace import Store, Workspace


@dataclass(frozen=True)
class Hostile:
    name: str
    request: bytes
    expected: int  # the status main answers (tests/e2e/test_http_hostile.py and friends)


def request(
    method: str, path: str, body: bytes = b"", *headers: bytes, key: str | None = KEY
) -> bytes:
    """A raw HTTP/1.1 request; a Content-Length is added unless a header says chunked."""
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: chaos", *headers]
    if key is not None:
        lines.append(f"Authorization: Bearer {key}".encode())
    if not any(h.lower().startswith(b"transfer-encoding") for h in headers):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


JSON = b"Content-Type: application/json"


def post(body: bytes, *headers: bytes, path: str = "/api/events", key: str | None = KEY) -> bytes:
    return request("POST", path, body, JSON, *headers, key=key)


def event(payload: str = "{}", **fields: str) -> bytes:
    """An event's JSON with `payload` as raw JSON text and `fields` as raw JSON values."""
    parts = {"type": '"custom.note"', "session_id": '"hostile"', "payload": payload, **fields}
    return ("{" + ", ".join(f'"{k}": {v}' for k, v in parts.items()) + "}").encode()


def nested(depth: int) -> str:
    return '{"v": ' + "[" * depth + "]" * depth + "}"


def chunked(body: bytes, size: int = 65536) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def deal(payload: str) -> bytes:
    return ('{"deal_id": "D-h", "name": "Acme", "extra": ' + payload + "}").encode()


IDEM_B = b"Idempotency-Key: b"
BIG = event('{"x": "' + "x" * 2_000_000 + '"}')
CHUNKED = b"Transfer-Encoding: chunked"
HOSTILE = [
    # deeper than the bodies' nesting bound (adapters/http/jsonbody.py): malformed JSON, 400
    Hostile("JSON nested 300 levels", post(event(nested(300))), 400),
    Hostile("JSON nested 900 levels", post(event(nested(900))), 400),
    Hostile("JSON nested 5000 levels", post(event(nested(5000))), 400),
    Hostile("JSON nested 5000, /api/deals", post(deal(nested(5000)), path="/api/deals"), 400),
    Hostile("lone surrogate in payload", post(event('{"a": "x\\ud800"}')), 422),
    Hostile("lone surrogate in session_id", post(event(session_id='"s\\udc80"')), 422),
    Hostile("NUL in payload", post(event('{"a": "x\\u0000y"}')), 422),
    Hostile("NUL in event_id", post(event(event_id='"e\\u0000"')), 422),
    Hostile("NUL in session_id", post(event(session_id='"s\\u0000"')), 422),
    Hostile("NaN in payload", post(event('{"v": NaN}')), 422),
    Hostile("Infinity in payload", post(event('{"v": [1, Infinity]}')), 422),
    Hostile("-Infinity in payload", post(event('{"v": -Infinity}')), 422),
    Hostile("non-UTF-8 byte in a header nobody reads", post(event(), b"X-Note: caf\xe9"), 201),
    # header bytes are Latin-1 in HTTP: this key is "kÿ", the same one on every retry
    Hostile("non-UTF-8 byte in Idempotency-Key", post(event(), b"Idempotency-Key: k\xff"), 201),
    Hostile("non-UTF-8 byte in the body", post(event().replace(b"{}", b'{"a": "\xff"}')), 400),
    Hostile("two Idempotency-Key headers", post(event(), b"Idempotency-Key: a", IDEM_B), 400),
    Hostile("window=9999999d", request("GET", "/api/events/stats?window=9999999d"), 422),
    Hostile(
        "Last-Event-ID of 20 digits",
        request("GET", "/api/sessions/hostile/events/stream", b"", b"Last-Event-ID: " + b"9" * 20),
        422,
    ),
    Hostile("chunked 2 MB body", post(chunked(BIG), CHUNKED), 413),
    Hostile("2 MB body", post(BIG), 413),
    Hostile(
        "chunked text/plain",
        request("POST", "/api/events", chunked(event()), b"Content-Type: text/plain", CHUNKED),
        415,
    ),
    Hostile("200 KB header line", post(event(), b"X-Pad: " + b"a" * 200_000), 431),
    Hostile("malformed JSON, no key", post(b'{"type": "custom.note",', key=None), 401),
    Hostile("malformed JSON, writer key", post(b'{"type": "custom.note",'), 400),
]
ACCEPTED = sum(1 for h in HOSTILE if h.expected < 300)


async def answer(base: str, hostile: Hostile) -> int | None:
    """The status of the answer; None when the connection ends without one."""
    connection = await Connection.open(base, {})
    try:
        return (await asyncio.wait_for(connection.exchange(hostile.request), 30)).status
    except TRANSPORT_ERRORS:
        return None
    finally:
        with suppress(*TRANSPORT_ERRORS):
            await connection.close()


async def answers(base: str) -> list[int | None]:
    return [await answer(base, hostile) for hostile in HOSTILE]


def stored(base: str) -> int:
    response = httpx.get(f"{base}/api/events/stats", headers=HEADERS, timeout=30)
    response.raise_for_status()
    return int(response.json()["total"])


def hostile_inputs(ws: Workspace, store: Store) -> list[Figure]:
    name = f"hostile-{store}"
    with Restartable(ws.settings(store, name), ws.log(name)) as server:
        statuses = asyncio.run(answers(server.base))
        total = stored(server.base)
    wrong = [
        f"{h.name}: {got}" for h, got in zip(HOSTILE, statuses, strict=True) if got != h.expected
    ]
    errors = sum(1 for got in statuses if got is None or got >= 500)
    figure = Scope("3 hostile inputs", store)
    return [
        figure("inputs", len(HOSTILE)),
        figure("5xx or no answer", errors, ZERO),
        figure("other than the expected status", len(wrong), ZERO, note="; ".join(wrong)[:120]),
        figure("events stored by refused inputs", total - ACCEPTED, ZERO),
    ]
