"""The application contract on every store: commands, the emitter, dedup, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from application.decorators import emit_action_event, emit_deal_event, use_emitter
from application.emitter import EmitRequest, run_context
from application.services.base import Origin
from domain.errors import (
    AlreadyExists,
    DealError,
    EventIdConflict,
    InvalidInput,
    NotFound,
    RunAlreadyFinished,
    RunError,
    UnknownEventType,
    VerificationGateClosed,
)
from entrypoints.container import Container


def seqs(app: Container, session_id: str) -> list[tuple[str, int | None]]:
    return [(e.type, e.seq) for e in app.queries().get_events_by_session(session_id)]


def test_run_lifecycle_returns_envelopes_with_seq_and_position(app: Container) -> None:
    runs = app.runs()
    created = runs.create_run("s-1", "r-1", requires_verification=True)
    assert created.written
    assert [(e.type, e.seq, e.session_id, e.run_id) for e in created.events] == [
        ("run_created", 1, "s-1", "r-1")
    ]
    assert created.events[0].position is not None
    runs.start_run("r-1", phase="plan")
    runs.call_tool("r-1", "t-1", "search", arguments={"q": "acme"})
    runs.complete_tool("r-1", "t-1", result={"hits": 3})
    with pytest.raises(VerificationGateClosed):
        runs.complete_run("r-1")
    runs.start_verification("r-1")
    runs.fail_verification("r-1", reason="no source")
    runs.start_verification("r-1")
    runs.pass_verification("r-1")
    done = runs.complete_run("r-1", output="ok")
    assert done.events[0].seq == 9
    view = runs.get_run("r-1")
    assert (view.status, view.verified, view.tool_calls) == (
        "completed",
        True,
        {"t-1": "completed"},
    )
    with pytest.raises(RunAlreadyFinished):
        runs.cancel_run("r-1")
    assert [s for _, s in seqs(app, "s-1")] == list(range(1, 10))


def test_refused_command_writes_nothing(app: Container) -> None:
    app.runs().create_run("s-1", "r-1")
    head = app.store().head()
    app.runs().cancel_run("r-1")
    with pytest.raises(RunAlreadyFinished):
        app.runs().start_run("r-1")
    assert app.store().head() == head + 1  # only the cancel
    with pytest.raises(NotFound):
        app.runs().start_run("no-such-run")
    assert app.store().head() == head + 1


def test_repeated_event_id_returns_the_original(app: Container) -> None:
    runs = app.runs()
    runs.create_run("s-1", "r-1", origin=Origin(event_id="create-1"))
    again = runs.create_run("s-1", "r-1", origin=Origin(event_id="create-1"))
    assert not again.written
    assert again.events[0].event_id == "create-1"
    assert again.events[0].seq == 1
    with pytest.raises(AlreadyExists):
        runs.create_run("s-1", "r-1", origin=Origin(event_id="create-2"))
    first = runs.start_run("r-1", origin=Origin(event_id="start-1"))
    second = runs.start_run("r-1", origin=Origin(event_id="start-1"))
    assert second.events == first.events
    assert not second.written
    with pytest.raises(EventIdConflict):
        runs.think("r-1", content="x", origin=Origin(event_id="start-1"))
    assert app.store().head() == 2


def test_event_id_of_another_aggregate_is_a_conflict(app: Container) -> None:
    app.runs().create_run("s-1", "r-1", origin=Origin(event_id="shared"))
    with pytest.raises(EventIdConflict, match="run_created"):
        app.deals().create_deal("DL-0001", "Acme", origin=Origin(event_id="shared"))


def test_deal_pipeline_and_same_stage_no_op(app: Container) -> None:
    deals = app.deals()
    deals.create_deal("DL-0001", "Acme")
    for stage in ["screening", "qualified", "loi"]:
        assert deals.move_deal("DL-0001", stage).events[0].payload["to_stage"] == stage
    noop = deals.move_deal("DL-0001", "loi")
    assert (noop.events, noop.written) == ([], False)
    with pytest.raises(DealError, match="loi -> inbound is not allowed"):
        deals.move_deal("DL-0001", "inbound")
    deals.archive_deal("DL-0001", reason="lost")
    assert deals.get_deal("DL-0001").stage == "archived"
    events = app.queries().get_by_correlation_id("DL-0001")
    assert [e.type for e in events] == [
        "deal.created",
        *["deal.stage_changed"] * 3,
        "deal.archived",
    ]
    state = app.queries().get_state("deal", "DL-0001")
    assert (state.status, state.data["name"]) == ("archived", "Acme")


def test_actions_and_jobs(app: Container) -> None:
    actions, jobs = app.actions(), app.jobs()
    actions.create_action("A-1", "send_email", deal_id="DL-0001")
    actions.approve("A-1", approved_by="ops")
    actions.execute("A-1")
    actions.complete("A-1", result={"sent": True})
    actions.create_action("A-2", "wire_money")
    actions.reject("A-2", reason="risky")
    jobs.enqueue("J-1", "enrich", max_attempts=2)
    for _ in range(2):
        jobs.start("J-1")
        jobs.fail("J-1", "upstream 503")
    listing = app.queries().list_states("job", status="dlq")
    assert [row.key for row in listing.items] == ["J-1"]
    jobs.requeue("J-1")
    assert app.queries().get_state("job", "J-1").status == "queued"
    statuses = {r.key: r.status for r in app.queries().list_states("action").items}
    assert statuses == {"A-1": "completed", "A-2": "rejected"}
    assert [e.type for e in app.queries().get_by_correlation_id("DL-0001")] == [
        "action.created",
        "action.approved",
        "action.executing",
        "action.completed",
    ]


class TestEmitter:
    def test_routes_each_domain(self, app: Container) -> None:
        emit = app.emitter().emit
        emit("run_created", {}, session_id="s-1", run_id="r-1")
        emit("agent.run_started", {"phase": "x"}, run_id="r-1")  # old spelling, stored new
        emit("deal.created", {"deal_id": "DL-7", "name": "Acme"})
        emit("action.created", {"action_id": "A-1", "action_type": "call"})
        emit("worker.job_queued", {"job_id": "J-1", "job_type": "x"})
        emit("custom.feedback", {"stars": 5}, session_id="s-1")
        emit("system.startup", {"message": "hello"})
        types = [e.type for e in reversed(app.queries().get_recent(10))]
        assert types == [
            "run_created",
            "run_started",
            "deal.created",
            "action.created",
            "worker.job_queued",
            "custom.feedback",
            "system.startup",
        ]
        system = app.queries().get_recent(1)[0]
        assert (system.session_id, system.seq) == (None, None)

    def test_run_context_supplies_the_run(self, app: Container) -> None:
        emitter = app.emitter()
        emitter.emit("run_created", {}, session_id="s-1", run_id="r-1")
        with run_context("r-1", "s-1"):
            emitted = emitter.emit("run_started", {})
            thought = emitter.emit("agent.thinking", {"content": "plan"})
        assert emitted.envelope is not None and thought.envelope is not None
        assert (thought.envelope.run_id, thought.envelope.seq) == ("r-1", 3)
        with pytest.raises(InvalidInput, match="run_id"):
            emitter.emit("agent.thinking", {"content": "outside"})

    def test_generates_ids_and_dedups_given_ones(self, app: Container) -> None:
        emitter = app.emitter()
        first = emitter.emit("custom.note", {"n": 1}, session_id="s-1")
        assert first.envelope is not None and len(first.envelope.event_id) == 36
        given = emitter.emit("custom.note", {"n": 2}, session_id="s-1", event_id="note-2")
        again = emitter.emit("custom.note", {"n": 2}, session_id="s-1", event_id="note-2")
        assert (given.created, again.created) == (True, False)
        assert given.envelope == again.envelope
        with pytest.raises(EventIdConflict):
            emitter.emit("custom.note", {"n": 3}, session_id="s-1", event_id="note-2")

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"type": "nope", "payload": {}}, "type"),
            ({"type": "custom.x", "payload": '{"a": 1}', "session_id": "s"}, "payload"),
            ({"type": "agent.thinking", "payload": {}}, "run_id"),
            ({"type": "run_created", "payload": {}, "run_id": "r"}, "session_id"),
            ({"type": "deal.created", "payload": {"name": "x"}}, "payload.deal_id"),
            (
                {"type": "custom.x", "payload": {}, "session_id": "s", "event_id": "x" * 200},
                "event_id",
            ),
            ({"type": "custom.x", "payload": {}}, "session_id"),  # custom.* is session-level
        ],
    )
    def test_bad_input_is_refused_and_writes_nothing(
        self, app: Container, kwargs: dict[str, Any], field: str
    ) -> None:
        with pytest.raises(InvalidInput) as error:
            app.emitter().emit(**kwargs)
        assert error.value.field == field
        assert app.store().head() == 0

    def test_unknown_type_lists_valid_ones(self, app: Container) -> None:
        with pytest.raises(UnknownEventType, match="run_started"):
            app.emitter().emit("agent.run_paused", {}, run_id="r")

    def test_batch_is_one_transaction_all_or_nothing(self, app: Container) -> None:
        emitter = app.emitter()
        batch = [EmitRequest("run_created", {}, session_id="s-1", run_id="r-1")]
        batch += [EmitRequest("agent.thinking", {"i": i}, run_id="r-1") for i in range(3)]
        batch.insert(1, EmitRequest("run_started", {}, run_id="r-1"))
        bad = [*batch, EmitRequest("run_resumed", {}, run_id="r-1")]  # refused: not waiting
        with pytest.raises(RunError, match="run_resumed"):
            emitter.emit_batch(bad)
        assert app.store().head() == 0
        emitted = emitter.emit_batch(batch)
        assert [e.envelope.seq for e in emitted if e.envelope] == [1, 2, 3, 4, 5]
        assert app.store().head() == 5


class TestDecorators:
    def test_sync_and_async_functions_emit_their_result(self, app: Container) -> None:
        use_emitter(app.emitter())
        try:

            @emit_deal_event("deal.created")
            def create(deal_id: str) -> dict[str, Any]:
                return {"deal_id": deal_id, "name": "Acme", "stage": "inbound"}

            @emit_action_event("action.created")
            async def propose(action_id: str) -> dict[str, Any]:
                return {"action_id": action_id, "action_type": "email", "deal_id": "DL-9"}

            assert create("DL-9")["deal_id"] == "DL-9"
            asyncio.run(propose("A-9"))
        finally:
            use_emitter(None)
        events = app.queries().get_by_correlation_id("DL-9")
        assert [(e.type, e.source) for e in events] == [
            ("deal.created", "deal_lifecycle"),
            ("action.created", "action_engine"),
        ]

    def test_wrong_domain_is_refused_at_decoration(self) -> None:
        with pytest.raises(InvalidInput):
            emit_deal_event("action.created")
