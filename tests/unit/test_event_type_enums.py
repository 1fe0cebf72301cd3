"""The enums follow the registry, and their type-checker stub is not stale."""

from __future__ import annotations

from pathlib import Path

from domain import event_types
from domain.taxonomy import ALIASES, REGISTRY


def test_the_stub_is_generated_from_the_registry() -> None:
    stub = Path(event_types.__file__).with_suffix(".pyi").read_text()
    assert stub == event_types.stub(), "run: python -m domain.event_types > domain/event_types.pyi"


def test_every_registered_type_is_a_member_of_one_enum() -> None:
    members = {value for enum in event_types.MEMBERS.values() for value in enum.values()}
    assert members == set(REGISTRY) | set(ALIASES)
