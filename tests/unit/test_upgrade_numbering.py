"""The upgrade's numbering of a previous release's events (adapters.persistence.schema.number),
imported directly: dense seq per session, no seq for system events, and an event id that an
earlier event already took renamed `<id>#<position>` (as the old timeline did), not dropped."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.persistence.schema import Decoded, number

AT = datetime(2026, 1, 1, tzinfo=UTC)


def decoded(
    position: int, event_id: str, session: str | None, kind: str | None = "custom.x"
) -> Decoded:
    return Decoded(position, event_id, kind, AT, session, None, None, None)


def test_seq_continues_each_sessions_last_and_skips_events_without_a_session() -> None:
    rows = [decoded(10, "a", "s1"), decoded(11, "b", None), decoded(12, "c", "s2"),
            decoded(13, "d", "s1"), decoded(14, "e", "s1", kind=None)]  # fmt: skip
    last = {"s1": 4}
    numbered = number(rows, last, set())
    assert [(d.position, event_id, seq) for d, event_id, seq in numbered] == [
        (10, "a", 5),
        (11, "b", None),  # a system event: a position, no seq
        (12, "c", 1),
        (13, "d", 6),
        (14, "e", None),  # internal bookkeeping: in no timeline
    ]
    assert last == {"s1": 6, "s2": 1}


def test_a_reused_event_id_is_renamed_with_its_position_and_both_are_kept() -> None:
    taken = {"x-taken-before"}
    rows = [decoded(1, "dup", "s"), decoded(2, "dup", "s"), decoded(3, "x-taken-before", "s")]
    numbered = number(rows, {}, taken)
    assert [event_id for _, event_id, _ in numbered] == ["dup", "dup#2", "x-taken-before#3"]
    assert [seq for _, _, seq in numbered] == [1, 2, 3]  # renamed, still numbered
    assert {"dup", "dup#2", "x-taken-before#3"} <= taken  # later batches see them as taken
