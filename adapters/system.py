"""The real clock and id source (the application sees them through its ports)."""

from __future__ import annotations

import os
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidIds:
    """Random (version 4) UUIDs as text, from the operating system's generator: formatted
    straight from the 16 random bytes (no `uuid.UUID` object, no lock)."""

    def new_id(self) -> str:
        raw = bytearray(os.urandom(16))
        raw[6] = raw[6] & 0x0F | 0x40  # version 4
        raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
