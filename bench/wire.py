"""A minimal HTTP/1.1 keep-alive client for the load: about 0.1 ms of CPU per request
where httpx spends 1.5 to 2 ms, so that on a small machine the load generator does not
take the CPU the server under test needs. It speaks only what our server answers: a status
line, headers and a `Content-Length` body. `exchange` sends bytes as they are (the chaos
suite's hostile requests) and reads one such answer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header keeps its last value
    body: bytes


class Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._head = head  # Host and the fixed headers, each ending in CRLF

    @classmethod
    async def open(cls, base: str, headers: dict[str, str]) -> Connection:
        url = urlsplit(base)
        assert url.hostname is not None
        assert url.port is not None
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        lines = [f"Host: {url.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
        return cls(reader, writer, "".join(f"{line}\r\n" for line in lines).encode())

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        reply = await self.fetch(method, path, body)
        return reply.status, reply.body

    async def fetch(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        """A request with the fixed headers and `headers`; the whole answer."""
        start = f"{method} {path} HTTP/1.1\r\n".encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()).encode()
        length = f"Content-Length: {len(body)}\r\n\r\n".encode()
        self._writer.write(start + self._head + extra + length + body)
        return await self._reply()

    async def exchange(self, request: bytes) -> Reply:
        """Send `request` byte for byte (nothing added); read one answer."""
        self._writer.write(request)
        return await self._reply()

    async def _reply(self) -> Reply:
        head = await self._reader.readuntil(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head[:-4].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        size = int(headers.get("content-length", "0"))
        return Reply(int(head[9:12]), headers, await self._reader.readexactly(size))

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()
