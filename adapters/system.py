"""The real clock and id source (the application sees them through its ports)."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


_VARIANT = "89ab89ab89ab89ab"  # the RFC 4122 variant's digit for each value of a hex digit


class UuidIds(threading.local):
    """Random (version 4) UUIDs as text, from the operating system's generator.

    Each thread draws 4 KiB of `os.urandom` at a time (one system call per 256 ids instead of
    one per id) and formats ids straight from the bytes: no `uuid.UUID` object, no lock."""

    BUFFER = 4096  # bytes: 256 ids

    def __init__(self) -> None:
        self._hex = ""
        self._at = 0

    def new_id(self) -> str:
        at = self._at
        if at >= len(self._hex):
            self._hex, at = os.urandom(self.BUFFER).hex(), 0
        self._at = at + 32
        h = self._hex[at : at + 32]
        # version nibble forced to 4, variant nibble to 8..b (10xx)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:]}"
