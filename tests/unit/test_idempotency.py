"""A repeated event_id returns the original and writes nothing; other content is a conflict."""

from __future__ import annotations

import pytest

from domain import payloads as p
from domain.errors import AlreadyExists
from domain.model import RECENT_IDS, EventMeta
from domain.run import Run
from domain.session import SYSTEM_LOG, Session
from tests.unit.builders import AT, meta, new_deal, recorded, run_in


def test_repeated_command_returns_the_original_and_triggers_nothing() -> None:
    run = run_in("running")
    first = run.think(EventMeta(event_id="e-think"), AT, p.ThinkingPayload(content="hmm"))
    pending = len(run.pending_events)
    again = run.think(EventMeta(event_id="e-think"), AT, p.ThinkingPayload(content="hmm"))
    assert first.new and not again.new
    assert again.version == first.version
    assert len(run.pending_events) == pending


def test_repeat_is_answered_even_after_the_state_moved_on() -> None:
    run = run_in("queued")
    started = run.start(EventMeta(event_id="e-start"), AT)
    run.complete(meta(), AT)
    again = run.start(EventMeta(event_id="e-start"), AT)
    assert (again.version, again.new) == (started.version, False)


def test_same_id_with_other_content_is_answered_as_a_repeat_for_the_application_to_check() -> None:
    # The aggregate keeps no fingerprints: the application compares a repeat with the stored
    # original it fetches to answer (tests/integration/test_commands.py covers the conflict).
    run = run_in("running")
    first = run.think(EventMeta(event_id="e-1"), AT, p.ThinkingPayload(content="a"))
    again = run.wait_for_input(EventMeta(event_id="e-1"), AT)
    assert (again.version, again.new) == (first.version, False)


def test_the_window_of_recent_ids_is_bounded() -> None:
    run = run_in("running")
    run.think(EventMeta(event_id="oldest"), AT)
    for i in range(RECENT_IDS):
        run.think(EventMeta(event_id=f"e-{i}"), AT)
    assert len(run.recent_ids) == RECENT_IDS
    assert "oldest" not in run.recent_ids
    assert run.think(EventMeta(event_id="e-5"), AT).new is False
    assert run.think(EventMeta(event_id="oldest"), AT).new is True  # the store answers it


def test_ids_survive_replay() -> None:
    run = run_in("running")
    run.think(EventMeta(event_id="e-1"), AT)
    replayed: Run | None = None
    for event in run.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert not replayed.think(EventMeta(event_id="e-1"), AT).new


def test_create_again_with_the_same_id_is_a_duplicate_otherwise_already_exists() -> None:
    created = run_in("queued")
    creation = EventMeta(event_id="ev-create", session_id="sess-1", run_id="run-1")
    run = Run.create(creation, AT)
    duplicate = run.created_again(creation, "run_created", p.RunCreatedPayload())
    assert (duplicate.version, duplicate.new) == (1, False)
    with pytest.raises(AlreadyExists):
        created.created_again(meta(), "run_created", p.RunCreatedPayload())


def test_deal_same_stage_move_by_repeated_id_returns_original() -> None:
    deal = new_deal()
    payload = p.DealStageChangedPayload(deal_id="DL-0001", to_stage="screening")
    first = deal.move_to(EventMeta(event_id="mv"), AT, payload)
    again = deal.move_to(EventMeta(event_id="mv"), AT, payload)
    assert first is not None and again is not None
    assert again.version == first.version and not again.new


def test_session_records_custom_and_system_events() -> None:
    session = Session.create(
        EventMeta(event_id="c1", session_id="s-1"),
        AT,
        "custom.note",
        p.CustomPayload.model_validate({"x": 1}),
    )
    session.record(EventMeta(event_id="c2", session_id="s-1"), AT, "custom.note", p.Payload())
    assert not session.record(
        EventMeta(event_id="c1", session_id="s-1"),
        AT,
        "custom.note",
        p.CustomPayload.model_validate({"x": 1}),
    ).new
    assert session.counts == {"custom.note": 2}
    assert [e.event_type for e in recorded(session)] == ["custom.note", "custom.note"]


def test_system_events_without_session_go_to_the_system_log_without_session_id() -> None:
    log = Session.create(EventMeta(event_id="s1"), AT, "system.startup", p.SystemPayload())
    assert log.key == SYSTEM_LOG
    assert recorded(log)[0].meta.session_id is None


def test_session_refuses_non_session_types() -> None:
    from domain.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not a session-level"):
        Session.create(EventMeta(event_id="x", session_id="s"), AT, "run_started", p.Payload())
