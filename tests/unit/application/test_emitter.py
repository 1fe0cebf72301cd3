"""The emitter (application/emitter.py): validation, defaults from the run context, routing
to aggregates, repeats, and batches that are all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from application.emitter import EmitRequest, current_run, run_context
from domain.errors import (
    ConcurrencyConflict,
    EventIdConflict,
    InvalidInput,
    RunError,
    UnknownEventType,
)
from domain.session import SYSTEM_LOG
from tests.unit.application.conftest import App


def test_each_domain_goes_to_its_aggregate(app: App) -> None:
    e = app.emitter
    e.emit("system.startup", {})  # the system log exists before any session does
    run = e.emit("run_created", {}, session_id="s-1", run_id="r-1", actor="bot", source="agent")
    assert run.created and run.envelope is not None
    assert (run.envelope.run_id, run.envelope.session_id, run.envelope.seq) == ("r-1", "s-1", 1)
    assert (run.envelope.actor, run.envelope.source) == ("bot", "agent")
    e.emit("deal.created", {"deal_id": "DL-1", "name": "Acme"}, correlation_id="c-1")
    e.emit("action.created", {"action_id": "A-1", "action_type": "mail"})
    e.emit("worker.job_queued", {"job_id": "J-1", "job_type": "enrich"})
    e.emit("custom.note", {"text": "hi"}, session_id="s-1", causation_id="cause")
    second = e.emit("custom.note", {"text": "again"}, session_id="s-1")
    assert second.envelope is not None and second.envelope.seq == 3
    plain = e.emit("deal.created", {"deal_id": "DL-2", "name": "B"})
    assert plain.envelope is not None and plain.envelope.source == "api"
    assert app.runs.get_run("r-1").status == "queued"
    assert app.deals.get_deal("DL-1").name == "Acme"
    assert app.actions.load("A-1").status == "created"
    assert app.jobs.load("J-1").status == "queued"
    assert app.sessions.load(SYSTEM_LOG).version == 1
    assert app.sessions.load("s-1").version == 2
    [note, _] = app.table.by_session("s-1", 0, 10)[1:]
    assert (note.type, note.seq, note.causation_id) == ("custom.note", 2, "cause")
    [deal] = app.table.by_correlation("c-1", 10, 0)
    assert deal.type == "deal.created"


def test_an_alias_is_stored_under_the_lifecycle_spelling(app: App) -> None:
    app.emitter.emit("run_created", {}, session_id="s-1", run_id="r-1")
    started = app.emitter.emit("agent.run_started", {}, run_id="r-1", session_id="s-1")
    assert started.envelope is not None and started.envelope.type == "run_started"


def test_an_unknown_type_is_refused(app: App) -> None:
    with pytest.raises(UnknownEventType):
        app.emitter.emit("nope.nothing", {})
    with pytest.raises(InvalidInput, match="payload"):
        app.emitter.emit("deal.created", "not an object")
    assert app.table.head() == 0


def test_run_scoped_types_need_a_run(app: App) -> None:
    with pytest.raises(InvalidInput, match="run-scoped type 'run_started'") as caught:
        app.emitter.emit("run_started", {})
    assert caught.value.field == "run_id"
    with pytest.raises(InvalidInput) as created:
        app.emitter.emit("run_created", {}, run_id="r-1")
    assert created.value.field == "session_id"


def test_custom_events_need_a_session(app: App) -> None:
    with pytest.raises(InvalidInput, match="custom") as caught:
        app.emitter.emit("custom.note", {})
    assert caught.value.field == "session_id"
    # system events do not: they go to the system log
    assert app.emitter.emit("system.error", {"error": "x"}).created


def test_the_run_context_supplies_run_and_session(app: App) -> None:
    assert current_run() == (None, None)
    with run_context("r-1", "s-1"):
        assert current_run() == ("r-1", "s-1")
        created = app.emitter.emit("run_created", {})
        other = app.emitter.emit("run_created", {}, run_id="r-2", session_id="s-2")
        with pytest.raises(InvalidInput, match="session_id"):
            # an explicit other run does not borrow the context's session
            app.emitter.emit("run_created", {}, run_id="r-3")
    assert current_run() == (None, None)
    assert created.envelope is not None and other.envelope is not None
    assert (created.envelope.run_id, created.envelope.session_id) == ("r-1", "s-1")
    assert (other.envelope.run_id, other.envelope.session_id) == ("r-2", "s-2")
    with run_context("r-1"):
        started = app.emitter.emit("run_started", {})
        assert started.envelope is not None and started.envelope.session_id == "s-1"
        # non-run events are not touched by the context
        deal = app.emitter.emit("deal.created", {"deal_id": "DL-1", "name": "x"})
        assert deal.envelope is not None and deal.envelope.run_id is None


def test_the_context_is_restored_after_an_error() -> None:
    with pytest.raises(RuntimeError), run_context("r-1", "s-1"):
        raise RuntimeError
    assert current_run() == (None, None)


def test_a_repeat_returns_the_original_not_created(app: App) -> None:
    deal = {"deal_id": "DL-1", "name": "Acme"}
    first = app.emitter.emit("deal.created", deal, event_id="e-1")
    head = app.table.head()
    again = app.emitter.emit("deal.created", deal, event_id="e-1")
    assert first.created and again.created is False
    assert again.envelope == first.envelope
    assert app.table.head() == head
    with pytest.raises(EventIdConflict):
        app.emitter.emit("deal.created", {**deal, "name": "Other"}, event_id="e-1")
    with pytest.raises(EventIdConflict, match="of DL-1"):
        app.emitter.emit("deal.created", {**deal, "deal_id": "DL-2"}, event_id="e-1")


def test_a_repeat_older_than_the_window_is_found_in_the_store(app: App) -> None:
    from domain.model import RECENT_IDS

    app.emitter.emit("run_created", {}, session_id="s-1", run_id="r-1", event_id="old")
    app.emitter.emit("run_started", {}, run_id="r-1")
    for _ in range(RECENT_IDS):
        app.emitter.emit("agent.thinking", {}, run_id="r-1")
    again = app.emitter.emit("run_created", {}, session_id="s-1", run_id="r-1", event_id="old")
    assert again.created is False and again.envelope is not None and again.envelope.seq == 1
    # in a batch, followed by a new event
    first, second = app.emitter.emit_batch(
        [
            EmitRequest("run_created", {}, session_id="s-1", run_id="r-1", event_id="old"),
            EmitRequest("agent.thinking", {"content": "new"}, run_id="r-1"),
        ]
    )
    assert (first.created, second.created) == (False, True)
    assert second.envelope is not None and second.envelope.payload == {"content": "new"}
    assert app.deps.backoffs == []


def test_a_no_op_is_answered_without_an_envelope(app: App) -> None:
    app.emitter.emit("deal.created", {"deal_id": "DL-1", "name": "Acme", "stage": "inbound"})
    same = app.emitter.emit("deal.stage_changed", {"deal_id": "DL-1", "to_stage": "inbound"})
    assert (same.envelope, same.created) == (None, False)
    assert app.table.head() == 1


def test_an_empty_batch_is_nothing(app: App) -> None:
    assert app.emitter.emit_batch([]) == []


def test_a_batch_is_written_in_order_in_one_transaction(app: App) -> None:
    batch = [
        EmitRequest("run_created", {}, session_id="s-1", run_id="r-1"),
        EmitRequest("run_started", {}, run_id="r-1"),
        EmitRequest("deal.created", {"deal_id": "DL-1", "name": "Acme"}),
        EmitRequest("agent.thinking", {"content": "x"}, run_id="r-1"),
    ]
    emitted = app.emitter.emit_batch(batch)
    assert [e.created for e in emitted] == [True] * 4
    positions = [e.envelope.position or 0 for e in emitted if e.envelope]
    assert positions == [1, 2, 3, 4]  # the log keeps the batch's order across aggregates
    assert [e.envelope.seq for e in emitted if e.envelope and e.envelope.run_id] == [1, 2, 3]
    assert app.deps.writer.groups == 1
    assert app.runs.get_run("r-1").status == "running"


def test_a_refused_event_fails_the_whole_batch(app: App) -> None:
    batch = [
        EmitRequest("run_created", {}, session_id="s-1", run_id="r-1"),
        EmitRequest("run_completed", {}, run_id="r-1"),  # not running: refused
    ]
    with pytest.raises(RunError):
        app.emitter.emit_batch(batch)
    assert app.table.head() == 0


def test_invalid_input_in_a_batch_names_its_place(app: App) -> None:
    batch = [
        EmitRequest("deal.created", {"deal_id": "DL-1", "name": "Acme"}),
        EmitRequest("run_started", {}),
    ]
    with pytest.raises(InvalidInput, match=r"^events\.1\.run_id: ") as caught:
        app.emitter.emit_batch(batch)
    assert caught.value.field == "events.1.run_id"
    with pytest.raises(InvalidInput) as alone:
        app.emitter.emit_batch(batch[1:])
    assert alone.value.field == "run_id"


def test_one_id_for_two_aggregates_in_a_batch_is_a_conflict(app: App) -> None:
    batch = [
        EmitRequest("deal.created", {"deal_id": "DL-1", "name": "a"}, event_id="e-1"),
        EmitRequest("deal.created", {"deal_id": "DL-2", "name": "a"}, event_id="e-1"),
    ]
    with pytest.raises(EventIdConflict) as caught:
        app.emitter.emit_batch(batch)
    assert caught.value.event_id == "e-1"
    assert str(caught.value).endswith(": the batch uses it for two aggregates")
    assert app.table.head() == 0


def test_a_repeat_within_a_batch_is_the_first_one(app: App) -> None:
    deal = {"deal_id": "DL-1", "name": "a"}
    batch = [
        EmitRequest("deal.created", deal, event_id="e-1"),
        EmitRequest("deal.created", deal, event_id="e-1"),
    ]
    first, second = app.emitter.emit_batch(batch)
    assert first.created and not second.created
    assert second.envelope == first.envelope
    assert app.table.head() == 1
    batch[1] = EmitRequest("deal.created", {**deal, "name": "b"}, event_id="e-1")
    with pytest.raises(EventIdConflict):
        app.emitter.emit_batch(
            [EmitRequest("deal.created", {"deal_id": "DL-9", "name": "a"}, event_id="e-9")] * 1
            + [EmitRequest("deal.created", {"deal_id": "DL-9", "name": "b"}, event_id="e-9")]
        )


def test_a_batch_repeating_a_stored_event_answers_it(app: App) -> None:
    deal = {"deal_id": "DL-1", "name": "a"}
    first = app.emitter.emit("deal.created", deal, event_id="e-1")
    emitted = app.emitter.emit_batch(
        [
            EmitRequest("deal.created", deal, event_id="e-1"),
            EmitRequest("deal.updated", {"deal_id": "DL-1", "name": "b"}),
        ]
    )
    assert [e.created for e in emitted] == [False, True]
    assert emitted[0].envelope == first.envelope
    app.store.forget(app.deals.id_for("DL-1"))
    with pytest.raises(EventIdConflict):
        app.emitter.emit_batch([EmitRequest("deal.created", {**deal, "name": "z"}, event_id="e-1")])


def test_a_repeat_known_to_the_aggregate_but_not_readable_is_a_conflict(app: App) -> None:
    app.emitter.emit("deal.created", {"deal_id": "DL-1", "name": "a"}, event_id="e-1")
    setattr(app.deps, "stored", lambda ids: {})  # noqa: B010
    with pytest.raises(ConcurrencyConflict, match="e-1 is being written"):
        app.emitter.emit("deal.created", {"deal_id": "DL-1", "name": "a"}, event_id="e-1")


def test_a_conflicting_batch_is_decided_again_then_given_up(app: App) -> None:
    app.emitter.emit("deal.created", {"deal_id": "DL-1", "name": "a"})
    real_write = app.deps.write
    failures = 1
    forgotten: list[Any] = []
    real_forget = app.store.forget

    def write(*aggregates: Any, order: Sequence[str] = ()) -> Any:
        nonlocal failures
        if failures:
            failures -= 1
            raise IntegrityError("someone else wrote first")
        return real_write(*aggregates, order=order)

    def forget(aggregate_id: Any) -> None:
        forgotten.append(aggregate_id)
        real_forget(aggregate_id)

    app.deps.write = write  # type: ignore[method-assign]
    app.store.forget = forget  # type: ignore[method-assign]
    [updated] = app.emitter.emit_batch(
        [EmitRequest("deal.updated", {"deal_id": "DL-1", "name": "b"})]
    )
    assert updated.created
    assert forgotten == [app.deals.id_for("DL-1")]
    assert app.deps.backoffs == [0]
    assert app.deals.get_deal("DL-1").name == "b"
    failures = 100
    with pytest.raises(ConcurrencyConflict, match=r"^deal DL-1 kept changing; try again$"):
        app.emitter.emit("deal.updated", {"deal_id": "DL-1", "name": "c"})
    assert app.deps.backoffs == [0, 0, 1, 2]
    assert app.deals.get_deal("DL-1").name == "b"
    failures = 100
    pair = [EmitRequest("deal.updated", {"deal_id": "DL-1", "name": n}) for n in ("d", "e")]
    with pytest.raises(
        ConcurrencyConflict, match=r"^the batch's aggregates kept changing; try again$"
    ):
        app.emitter.emit_batch(pair)
    assert app.deals.get_deal("DL-1").name == "b"


def test_a_command_on_a_missing_aggregate_names_it(app: App) -> None:
    from domain.errors import NotFound

    with pytest.raises(NotFound) as caught:
        app.emitter.emit("deal.updated", {"deal_id": "DL-404", "name": "x"})
    assert (caught.value.kind, caught.value.key) == ("deal", "DL-404")


def test_a_repeat_compares_payloads_as_stored_json(app: App) -> None:
    note = {"pair": (1, 2), "when": "2026-01-01"}
    first = app.emitter.emit("custom.note", note, session_id="s-1", event_id="p-1")
    assert first.envelope is not None and first.envelope.payload["pair"] == [1, 2]
    again = app.emitter.emit("custom.note", note, session_id="s-1", event_id="p-1")
    assert again.created is False and again.envelope == first.envelope


def test_a_session_event_repeated_beyond_the_window_is_its_original(app: App) -> None:
    from application.services.base import Origin
    from domain.model import RECENT_IDS

    first = app.sessions.record("s-1", "custom.note", {"n": 0}, origin=Origin(event_id="n-0"))
    for i in range(RECENT_IDS):
        app.sessions.record("s-1", "custom.note", {"n": i + 1})
    again = app.sessions.record("s-1", "custom.note", {"n": 0}, origin=Origin(event_id="n-0"))
    assert (again.written, again.events) == (False, first.events)
    assert app.deps.backoffs == []
    via_emitter = app.emitter.emit("custom.note", {"n": 0}, session_id="s-1", event_id="n-0")
    assert via_emitter.created is False and via_emitter.envelope == first.events[0]
