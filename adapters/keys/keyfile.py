"""The local key file: key ids, roles and SHA-256 digests, never a secret.

Written atomically with mode 0600 from the first byte (a temporary file created with
`O_CREAT | O_EXCL` and mode 0600 in the same directory, fsync, `os.replace`), so a reader
sees the old file or the new one and no one else can read either. Changes (create, revoke,
migrate) hold an exclusive `flock` on `<file>.lock`, so two CLIs never lose each other's key.

A file of the earlier plain-text format (`role:key` lines) is migrated transparently: its
keys keep working, the file is rewritten with their digests on first read (ids `legacy-...`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.keys.tokens import Role, digest, new_key, parse_pairs

log = logging.getLogger("zakops.keys")
FORMAT: Literal["zakops-api-keys/2"] = "zakops-api-keys/2"
Signature = tuple[int, int, int] | None  # (inode, mtime_ns, size); None: no file


class KeyRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    role: Role
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    created: datetime


class KeyFileContent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["zakops-api-keys/2"] = FORMAT
    keys: list[KeyRecord] = Field(default_factory=list)


class KeyFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def signature(self) -> Signature:
        """Changes whenever the file is replaced (a new inode) or edited in place."""
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (found.st_ino, found.st_mtime_ns, found.st_size)

    def records(self) -> list[KeyRecord]:
        """The keys in the file (none when there is no file); migrates a plain-text file."""
        found, plain = _parse(self._text())
        return self._migrate() if plain else found

    def create(self, role: Role) -> tuple[KeyRecord, str]:
        """A new key for `role`: its record, and the key itself (shown once, never stored)."""
        with self._locked():
            records, _ = _parse(self._text())
            taken = {r.id for r in records}
            key_id, key = new_key()
            while key_id in taken:
                key_id, key = new_key()
            record = KeyRecord(id=key_id, role=role, sha256=digest(key), created=_now())
            self._write([*records, record])
        return record, key

    def revoke(self, key_id: str) -> KeyRecord | None:
        """Remove the key with this id; None when there is none."""
        with self._locked():
            records, _ = _parse(self._text())
            found = next((r for r in records if r.id == key_id), None)
            if found is not None:
                self._write([r for r in records if r.id != key_id])
        return found

    def _migrate(self) -> list[KeyRecord]:
        with self._locked():
            records, plain = _parse(self._text())
            if plain:  # unless another process migrated it meanwhile
                self._write(records)
                log.warning("API keys in %s: plain text replaced by digests", self.path)
        return records

    def _text(self) -> str | None:
        try:
            return self.path.read_text()
        except FileNotFoundError:
            return None

    def _write(self, records: list[KeyRecord]) -> None:
        data = KeyFileContent(keys=records).model_dump_json(indent=2).encode() + b"\n"
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _sync_directory(self.path.parent)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = self.path.with_name(f"{self.path.name}.lock")
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock


def _parse(text: str | None) -> tuple[list[KeyRecord], bool]:
    """The records in a key file's text, and whether it was of the plain-text format."""
    if text is None:
        return [], False
    if text.lstrip().startswith("{"):
        return KeyFileContent.model_validate_json(text).keys, False
    created = _now()
    return [
        KeyRecord(id=f"legacy-{digest(key)[:8]}", role=role, sha256=digest(key), created=created)
        for key, role in parse_pairs(text)
    ], True


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (the new directory entry survives a power loss)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
