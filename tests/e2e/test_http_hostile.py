"""Hostile input gets its 4xx, never a 500, and writes nothing; a 500 says `Connection: close`.

Inputs a test client cannot send (a non-UTF-8 header byte, chunked bodies on a raw socket)
go to a real uvicorn server over a raw socket."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapters.http.protocol import MAX_HEAD_BYTES
from entrypoints.asgi import create_app
from entrypoints.settings import Settings
from tests.e2e.conftest import KEYS, R, W, total
from tests.e2e.server import running

JSON = {"Content-Type": "application/json"}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"v": NaN}', "payload.v"),
        ('{"v": [1, Infinity]}', "payload.v.1"),
        ('{"v": -Infinity}', "payload.v"),
        ('{"v": ' + nested(100) + "}", "payload.v" + ".0" * 63),
    ],
    ids=["nan", "infinity", "minus-infinity", "nested-100"],
)
def test_payloads_json_cannot_hold_are_refused(client: TestClient, body: str, field: str) -> None:
    document = '{"type": "custom.note", "session_id": "s-1", "payload": ' + body + "}"
    response = client.post("/api/events", content=document, headers={**W, **JSON})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert total(client) == 0


@pytest.mark.parametrize("depth", [300, 900, 5000])
def test_json_nested_too_deep_for_any_parser_is_a_4xx(client: TestClient, depth: int) -> None:
    document = '{"type": "custom.note", "session_id": "s-1", "payload": {"v": '
    document += nested(depth) + "}}"
    for path in ("/api/events", "/api/deals"):
        response = client.post(path, content=document, headers={**W, **JSON})
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Malformed JSON"
    assert total(client) == 0


def test_a_window_beyond_the_calendar_is_refused(client: TestClient) -> None:
    response = client.get("/api/events/stats", params={"window": "9999999d"}, headers=R)
    assert response.status_code == 422
    assert response.json()["field"] == "window"
    assert client.get("/api/events/stats", params={"window": "36500d"}, headers=R).is_success


def test_a_last_event_id_beyond_any_seq_is_refused_before_the_stream(
    client: TestClient,
) -> None:
    headers = {**R, "Last-Event-ID": "9" * 20}
    response = client.get("/api/sessions/s-1/events/stream", headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "Last-Event-ID"


@pytest.fixture
def server(http_settings: Settings) -> Iterator[tuple[str, int]]:
    from pydantic import SecretStr

    app: FastAPI = create_app(http_settings.model_copy(update={"api_keys": SecretStr(KEYS)}))
    with running(app) as base:
        host, port = base.removeprefix("http://").split(":")
        yield host, int(port)


def exchange(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read one response (the server closes or sends Content-Length)."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        size = int(headers.get("content-length", "0"))
        while len(body) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(lines[0].split()[1]), headers, body


def post(path: str, body: bytes, *headers: bytes) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1".encode(),
        b"Host: test",
        f"Authorization: {W['Authorization']}".encode(),
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(body: bytes, size: int = 65536) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


EVENT = json.dumps({"type": "custom.note", "session_id": "s-1", "payload": {}}).encode()


def test_a_non_utf8_header_byte_on_a_post_is_no_crash(server: tuple[str, int]) -> None:
    request = post(
        "/api/events",
        EVENT,
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(EVENT),
        b"X-Note: caf\xe9 \xff",
    )
    status, _, body = exchange(server, request)
    assert status == 201, body


def test_a_chunked_body_over_the_limit_is_413(server: tuple[str, int]) -> None:
    big = b'{"type": "custom.note", "session_id": "s", "payload": {"x": "' + b"x" * 2_000_000
    request = post(
        "/api/events",
        chunked(big + b'"}}'),
        b"Content-Type: application/json",
        b"Transfer-Encoding: chunked",
    )
    status, headers, body = exchange(server, request)
    assert status == 413, body
    assert headers["content-type"] == "application/problem+json"


def test_a_chunked_text_body_is_415(server: tuple[str, int]) -> None:
    request = post(
        "/api/events", chunked(EVENT), b"Content-Type: text/plain", b"Transfer-Encoding: chunked"
    )
    status, _, body = exchange(server, request)
    assert status == 415, body


def test_a_500_tells_the_client_that_the_connection_closes(
    http_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import SecretStr

    app = create_app(http_settings.model_copy(update={"api_keys": SecretStr(KEYS)}))

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.state.deps.queries, "get_recent", broken)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/api/events/recent", headers=R)
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    assert response.headers["content-type"] == "application/problem+json"


def test_a_request_head_over_the_bound_is_431_before_authentication(
    server: tuple[str, int],
) -> None:
    huge = b"X-Padding: " + b"a" * (MAX_HEAD_BYTES * 4)
    request = b"GET /api/events/recent HTTP/1.1\r\nHost: test\r\n" + huge + b"\r\n\r\n"
    status, headers, body = exchange(server, request)
    assert status == 431, body
    assert headers["connection"] == "close"
    assert json.loads(body)["status"] == 431


def test_a_head_under_the_bound_and_a_body_sent_with_it_are_served(
    server: tuple[str, int],
) -> None:
    padding = b"X-Padding: " + b"a" * (MAX_HEAD_BYTES // 2)
    note = json.dumps(
        {"type": "custom.note", "session_id": "s-1", "payload": {"x": "y" * 500_000}}
    ).encode()
    request = post(
        "/api/events",
        note,
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(note),
        padding,
    )
    status, _, body = exchange(server, request)  # head and body in one send
    assert status == 201, body
