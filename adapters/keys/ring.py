"""Which role a presented key has: the fixed keys of the settings and the key file's, which a
running server re-reads whenever the file changes (a `stat` per check, a read per change)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from adapters.keys.keyfile import KeyFile, KeyRecord, Signature
from adapters.keys.tokens import MAX_KEY_LENGTH, Role, digest

log = logging.getLogger("zakops.keys")


@dataclass(frozen=True)
class KeyRing:
    """Keys by their SHA-256 digest. A lookup by digest reveals nothing about a secret through
    its timing: the digest of a guess says nothing about the digest of the key."""

    roles: dict[str, Role] = field(default_factory=dict)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Role]]) -> KeyRing:
        """From `(key, role)` pairs (ZAKOPS_API_KEYS)."""
        return cls({digest(key): role for key, role in pairs})

    @classmethod
    def stored(cls, records: Iterable[KeyRecord]) -> KeyRing:
        return cls({record.sha256: record.role for record in records})

    def role_of(self, presented: str) -> Role | None:
        if len(presented) > MAX_KEY_LENGTH:
            return None
        return self.roles.get(digest(presented))

    def role_of_digest(self, sha256: str) -> Role | None:
        """The role of the key with this digest (the console's session keeps the digest,
        never the key, so a revoked key ends its console sessions too)."""
        return self.roles.get(sha256)

    def __len__(self) -> int:
        return len(self.roles)


class LiveKeyRing:
    """The fixed keys plus the key file's, re-read when the file's inode, mtime or size
    changes: keys created or revoked by `zakops keys` count from the next request."""

    def __init__(self, fixed: KeyRing, file: KeyFile) -> None:
        self.fixed = fixed
        self.file = file
        self._signature: Signature = None
        self._stored = KeyRing()
        self._lock = threading.Lock()
        self.refresh()

    def role_of(self, presented: str) -> Role | None:
        self.refresh()
        return self.fixed.role_of(presented) or self._stored.role_of(presented)

    def role_of_digest(self, sha256: str) -> Role | None:
        self.refresh()
        return self.fixed.role_of_digest(sha256) or self._stored.role_of_digest(sha256)

    def __len__(self) -> int:
        self.refresh()
        return len(self.fixed) + len(self._stored)

    def refresh(self) -> None:
        signature = self.file.signature()
        if signature == self._signature:
            return
        with self._lock:
            if signature == self._signature:
                return
            try:
                stored = KeyRing.stored(self.file.records())
            except (OSError, ValueError) as error:  # pydantic's ValidationError included
                # Fail closed: an unreadable file grants nothing (the fixed keys still work).
                log.error("API key file %s unreadable: %s", self.file.path, error)
                stored = KeyRing()
            self._stored = stored
            self._signature = signature  # a change during the read shows at the next check
