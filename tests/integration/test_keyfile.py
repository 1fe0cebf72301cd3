"""The key file: digests only, mode 0600 from the first byte, atomic replacement, migration of
the plain-text format, and a ring that follows the file without a restart (issue 10, item 9)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from adapters.keys.keyfile import KeyFile
from adapters.keys.ring import KeyRing, LiveKeyRing
from adapters.keys.tokens import digest


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def file(tmp_path: Path) -> KeyFile:
    return KeyFile(tmp_path / "data" / "api-keys")


def test_created_key_is_kept_as_a_digest_in_a_0600_file(file: KeyFile) -> None:
    old_umask = os.umask(0o000)  # even a permissive umask gives no one else a window
    try:
        record, key = file.create("writer")
    finally:
        os.umask(old_umask)
    assert mode(file.path) == 0o600
    text = file.path.read_text()
    assert key not in text
    assert key.split("_")[-1] not in text  # nor the secret part alone
    assert record.sha256 == digest(key) and record.sha256 in text
    assert key.startswith(f"zk_{record.id}_")
    assert [r.id for r in file.records()] == [record.id]
    assert sorted(p.name for p in file.path.parent.iterdir()) == ["api-keys", "api-keys.lock"]


def test_file_is_replaced_never_rewritten_in_place(file: KeyFile) -> None:
    file.create("reader")
    inode = file.path.stat().st_ino
    file.create("reader")
    assert file.path.stat().st_ino != inode  # a reader sees the old file or the new, whole


def test_revoke_removes_only_that_key(file: KeyFile) -> None:
    first, _ = file.create("reader")
    second, _ = file.create("operator")
    assert file.revoke(first.id) == first
    assert file.revoke(first.id) is None
    assert [r.id for r in file.records()] == [second.id]
    assert mode(file.path) == 0o600


def test_concurrent_creates_lose_no_key(file: KeyFile) -> None:
    made: list[str] = []

    def create() -> None:
        for _ in range(10):
            made.append(file.create("reader")[0].id)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.id for r in file.records()) == sorted(made)
    assert len(made) == 40


def test_plain_text_file_is_migrated_and_its_keys_keep_working(file: KeyFile) -> None:
    old = "zk_" + "a" * 32
    file.path.parent.mkdir(parents=True)
    file.path.write_text(f"writer:{old}\n")
    file.path.chmod(0o644)  # as the earlier release left it between create and chmod
    ring = LiveKeyRing(KeyRing(), file)
    assert ring.role_of(old) == "writer"
    assert old not in file.path.read_text()
    assert mode(file.path) == 0o600
    assert [(r.role, r.id) for r in file.records()] == [("writer", f"legacy-{digest(old)[:8]}")]


def test_ring_follows_the_file_without_a_restart(file: KeyFile) -> None:
    fixed = "f" * 20
    ring = LiveKeyRing(KeyRing.of([(fixed, "reader")]), file)
    assert len(ring) == 1
    record, key = file.create("writer")
    assert ring.role_of(key) == "writer"
    file.revoke(record.id)
    assert ring.role_of(key) is None
    assert ring.role_of(fixed) == "reader"
    assert ring.role_of("x" * 10_000) is None


def test_an_unreadable_file_grants_nothing(file: KeyFile) -> None:
    _, key = file.create("operator")
    ring = LiveKeyRing(KeyRing(), file)
    assert ring.role_of(key) == "operator"
    file.path.write_text('{"format": "something else"}')
    assert ring.role_of(key) is None
