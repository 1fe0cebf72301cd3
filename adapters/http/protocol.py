"""uvicorn's httptools protocol with a bound on the size of a request's head.

httptools gathers a header line in memory until it ends, and uvicorn sets no limit on it
(its h11 protocol has one, at a speed cost), so a client could send a 64 MB header before
any authentication. This protocol counts the bytes of a head that has not ended and, past
`MAX_HEAD_BYTES`, answers 431 and closes the connection. A chunk counts when the head is
still open before and after it, so a body that arrives with its head is never counted.

It also lets a live stream take its connection over (`DETACH`, an ASGI scope extension of
stream requests): once the stream's head and replay are sent, the stream becomes the
connection's protocol and writes its events straight to the transport, and this protocol,
its parser, the request's scope and cycle and the ASGI task are all let go. An idle stream
then costs its socket, its transport and two small objects (adapters/http/sse.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Protocol

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024


def _answer_431() -> bytes:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Request header fields too large",
            "status": 431,
            "detail": f"the request line and headers are over {MAX_HEAD_BYTES} bytes",
        }
    ).encode()
    head = (
        "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


ANSWER_431 = _answer_431()
DETACH = "zakops.detach"  # the scope extension: a `Detach`


class Owner(Protocol):
    """What takes a connection over: an asyncio protocol that joins uvicorn's set of open
    connections (uvicorn calls `shutdown` on each when it stops, and waits until they have
    left the set)."""

    def adopt(self, transport: asyncio.BaseTransport, connections: set[Any]) -> None: ...

    def shutdown(self) -> None: ...


class Detach(Protocol):
    def __call__(self, owner: Owner) -> bool: ...


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_open = True  # the first request's head starts with the first byte
        self._head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_open = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._head_open = False
        super().on_headers_complete()
        scope = self.scope
        if scope.get("path", "").endswith("/stream") and scope.get("method") == "GET":
            extensions: dict[str, Any] = {**scope.get("extensions", {}), DETACH: self.detach}
            scope["extensions"] = extensions

    def detach(self, owner: Owner) -> bool:
        """Hand the connection to `owner` in the middle of a chunked response whose head is
        sent: uvicorn writes nothing more for this request, the ASGI call may return, and
        `owner` writes the rest of the body (chunks, the last one) and closes. False, and
        nothing changed, when that cannot be done (a pipelined request waits, the client
        left, the response is not chunked)."""
        cycle = self.cycle
        if (
            cycle is None
            or not cycle.response_started
            or cycle.response_complete
            or cycle.disconnected
            or not cycle.chunked_encoding
            or self.pipeline
            or self.transport.is_closing()
        ):
            return False
        cycle.response_complete = True  # the ASGI call's return is then the normal end
        cycle.keep_alive = False
        transport = self.transport
        self.connections.discard(self)
        self.connections.add(owner)  # type: ignore[arg-type]  # uvicorn only calls shutdown()
        self._unset_keepalive_if_required()
        transport.set_protocol(owner)  # type: ignore[arg-type]
        owner.adopt(transport, self.connections)
        # no reference cycles left behind: this protocol is freed at once, not by the GC
        self.scope["extensions"] = {}
        self.cycle = None  # type: ignore[assignment]
        self.parser = None  # type: ignore[assignment]
        self.scope = None  # type: ignore[assignment]
        self.headers = None  # type: ignore[assignment]
        return True

    def data_received(self, data: bytes) -> None:
        open_before = self._head_open
        super().data_received(data)
        if not (open_before and self._head_open) or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            self.transport.write(ANSWER_431)
            self.transport.close()
