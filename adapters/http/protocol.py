"""uvicorn's httptools protocol with a bound on the size of a request's head.

httptools gathers a header line in memory until it ends, and uvicorn sets no limit on it
(its h11 protocol has one, at a speed cost), so a client could send a 64 MB header before
any authentication. This protocol counts the bytes of a head that has not ended and, past
`MAX_HEAD_BYTES`, answers 431 and closes the connection. A chunk counts when the head is
still open before and after it, so a body that arrives with its head is never counted.
"""

from __future__ import annotations

import json
from typing import Any

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

    def data_received(self, data: bytes) -> None:
        open_before = self._head_open
        super().data_received(data)
        if not (open_before and self._head_open) or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            self.transport.write(ANSWER_431)
            self.transport.close()
