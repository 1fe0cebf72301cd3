"""The id source: version-4 UUIDs in their canonical text form, never repeated."""

from __future__ import annotations

import uuid

from adapters.system import UuidIds


def test_ids_are_canonical_version_4_uuids() -> None:
    ids = UuidIds()
    for _ in range(1000):
        text = ids.new_id()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_ids_do_not_repeat() -> None:
    ids = UuidIds()
    made = [ids.new_id() for _ in range(50_000)]
    assert len(set(made)) == len(made)
