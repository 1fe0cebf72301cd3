"""The one write loop every service shares (application/services/base.py): idempotency by
event id, refusals, no-ops, bounded retries on optimistic-concurrency conflicts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from application.services import deals as deals_module
from application.services import runs as runs_module
from application.services.base import (
    CommandResult,
    Origin,
    aggregate_key,
    check_original,
    payload_of,
)
from domain import payloads as p
from domain.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    EventIdConflict,
    InvalidInput,
    NotFound,
    RunError,
)
from domain.model import RECENT_IDS
from domain.session import SYSTEM_LOG
from tests.unit.application.conftest import T0, App


def started(app: App, run_id: str = "r-1", session_id: str = "s-1") -> None:
    app.runs.create_run(session_id, run_id)
    app.runs.start_run(run_id)


def test_a_command_answers_with_its_stored_envelope(app: App) -> None:
    created = app.runs.create_run("s-1", "r-1", agent="a", origin=Origin(actor="bob"))
    assert created.written
    [envelope] = created.events
    assert (envelope.type, envelope.seq, envelope.position) == ("run_created", 1, 1)
    assert (envelope.session_id, envelope.run_id, envelope.actor) == ("s-1", "r-1", "bob")
    assert envelope.event_id == "00000000-0000-4000-8000-000000000001"
    assert envelope.timestamp == T0
    assert envelope.payload["agent"] == "a"
    assert app.table.by_ids([envelope.event_id]) == [envelope]


def test_a_repeated_event_id_returns_the_original_and_writes_nothing(app: App) -> None:
    started(app)
    first = app.runs.think("r-1", content="hmm", origin=Origin(event_id="e-1"))
    head = app.table.head()
    again = app.runs.think("r-1", content="hmm", origin=Origin(event_id="e-1"))
    assert first.written and not again.written
    assert again.events == first.events
    assert app.table.head() == head


def test_a_repeated_create_returns_the_original(app: App) -> None:
    first = app.deals.create_deal("DL-1", "Acme", origin=Origin(event_id="e-1"))
    again = app.deals.create_deal("DL-1", "Acme", origin=Origin(event_id="e-1"))
    assert (again.events, again.written) == (first.events, False)


def test_the_same_id_with_another_payload_is_a_conflict(app: App) -> None:
    started(app)
    app.runs.think("r-1", content="a", origin=Origin(event_id="e-1"))
    with pytest.raises(EventIdConflict, match="e-1") as caught:
        app.runs.think("r-1", content="b", origin=Origin(event_id="e-1"))
    assert caught.value.event_id == "e-1"
    with pytest.raises(EventIdConflict, match=r"agent\.thinking"):
        app.runs.wait_for_input("r-1", origin=Origin(event_id="e-1"))


def test_the_same_id_on_another_aggregate_is_a_conflict_naming_the_owner(app: App) -> None:
    started(app)
    started(app, "r-2")
    app.runs.think("r-1", content="a", origin=Origin(event_id="e-1"))
    head = app.table.head()
    with pytest.raises(EventIdConflict) as caught:
        app.runs.think("r-2", content="a", origin=Origin(event_id="e-1"))
    assert caught.value.event_id == "e-1"
    assert str(caught.value) == (
        "event_id 'e-1' was already used for a different event: it is agent.thinking of r-1"
    )
    with pytest.raises(EventIdConflict, match="of r-1"):
        app.deals.create_deal("DL-1", "Acme", origin=Origin(event_id="e-1"))
    assert app.table.head() == head


def test_a_repeat_older_than_the_aggregates_window_is_answered_by_the_store(app: App) -> None:
    started(app)
    first = app.runs.think("r-1", content="old", origin=Origin(event_id="old"))
    for i in range(RECENT_IDS):
        app.runs.think("r-1", content=str(i))
    assert "old" not in app.runs.load("r-1").recent_ids
    head = app.table.head()
    again = app.runs.think("r-1", content="old", origin=Origin(event_id="old"))
    assert (again.events, again.written) == (first.events, False)
    assert app.table.head() == head
    assert app.deps.backoffs == []  # found by the lookup, not by a failed write
    with pytest.raises(EventIdConflict):
        app.runs.think("r-1", content="other", origin=Origin(event_id="old"))


def test_a_repeat_the_aggregate_knows_but_the_store_does_not_is_a_conflict(app: App) -> None:
    started(app)
    app.runs.think("r-1", origin=Origin(event_id="e-1"))
    setattr(app.deps, "stored", lambda ids: {})  # noqa: B010  # not readable yet
    with pytest.raises(ConcurrencyConflict, match="e-1 is being written"):
        app.runs.think("r-1", origin=Origin(event_id="e-1"))


def test_a_generated_id_skips_the_store_lookup(app: App) -> None:
    started(app)
    looked_up: list[list[str]] = []
    original = app.deps.stored

    def stored(ids: Any) -> Any:
        looked_up.append(list(ids))
        return original(ids)

    setattr(app.deps, "stored", stored)  # noqa: B010
    app.runs.think("r-1")
    assert looked_up == []
    app.runs.think("r-1", origin=Origin(event_id="e-9"))
    assert looked_up == [["e-9"]]


def test_a_command_on_a_missing_aggregate_is_not_found(app: App) -> None:
    with pytest.raises(NotFound) as caught:
        app.runs.start_run("nope")
    assert (caught.value.kind, caught.value.key) == ("run", "nope")
    assert app.table.head() == 0
    assert not app.runs.exists("nope")
    with pytest.raises(NotFound) as read:
        app.runs.get_run("nope")
    assert (read.value.kind, read.value.key) == ("run", "nope")
    with pytest.raises(NotFound) as deal:
        app.deals.get_deal("DL-404")
    assert (deal.value.kind, deal.value.key) == ("deal", "DL-404")


def test_creating_twice_with_new_ids_is_refused(app: App) -> None:
    app.deals.create_deal("DL-1", "Acme")
    with pytest.raises(AlreadyExists):
        app.deals.create_deal("DL-1", "Acme")
    assert app.deals.exists("DL-1")
    assert app.table.head() == 1


def test_a_refused_transition_writes_nothing(app: App) -> None:
    app.runs.create_run("s-1", "r-1")
    with pytest.raises(RunError, match="queued"):
        app.runs.complete_run("r-1")
    assert app.table.head() == 1


@pytest.mark.parametrize("key", ["bad\x00key", "bad\ud800key"])
def test_a_key_no_store_can_hold_is_invalid_input(app: App, key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        app.runs.start_run(key)
    assert caught.value.field == "run_id"


def test_bad_origin_metadata_is_invalid_input(app: App) -> None:
    with pytest.raises(InvalidInput) as caught:
        app.deals.create_deal("DL-1", "Acme", origin=Origin(actor=""))
    assert caught.value.field == "actor"
    assert app.table.head() == 0


def test_a_move_to_the_current_stage_writes_nothing(app: App) -> None:
    app.deals.create_deal("DL-1", "Acme", stage="inbound")
    same = app.deals.move_deal("DL-1", "inbound")
    assert same == CommandResult([], written=False)
    assert app.table.head() == 1


def test_a_repeated_move_is_the_same_event_whatever_the_derived_from_stage(app: App) -> None:
    app.deals.create_deal("DL-1", "Acme", stage="inbound")
    first = app.deals.move_deal("DL-1", "screening", origin=Origin(event_id="m-1"))
    assert first.events[0].payload["from_stage"] == "inbound"
    again = app.deals.move_deal("DL-1", "screening", origin=Origin(event_id="m-1"))
    assert (again.events, again.written) == (first.events, False)


class Rival:
    """Another process: it writes to the aggregate between our load and our write."""

    def __init__(self, app: App, times: int) -> None:
        self.app, self.times, self.writes = app, times, 0
        self.real_write = app.deps.write

    def __call__(self, *aggregates: Any, order: Sequence[str] = ()) -> Any:
        if self.writes < self.times:
            self.writes += 1
            store = self.app.store
            other: Any = store.repository.get(aggregates[0].id)  # an older copy, as another process
            other.think(_meta(f"rival-{self.writes}"), T0, p.ThinkingPayload())
            store.commit([other], other.collect_events())
        return self.real_write(*aggregates, order=order)


def _meta(event_id: str) -> Any:
    from domain.model import EventMeta

    return EventMeta(event_id=event_id)


def test_a_conflict_is_retried_after_a_reload(app: App) -> None:
    started(app)
    app.deps.write = Rival(app, times=2)  # type: ignore[method-assign]
    result = app.runs.think("r-1", content="mine")
    assert result.written
    assert app.deps.backoffs == [0, 1]
    run = app.runs.load("r-1")
    assert run.version == 5  # created, started, two rivals, mine
    assert result.events[0].seq == 5


def test_conflicts_beyond_the_retry_bound_are_reported(app: App) -> None:
    started(app)
    app.deps.write = Rival(app, times=10)  # type: ignore[method-assign]
    with pytest.raises(ConcurrencyConflict, match="run r-1 kept changing"):
        app.runs.think("r-1", content="mine")
    assert app.deps.backoffs == [0, 1, 2]
    assert app.runs.load("r-1").version == 2 + 3  # only the rival's writes landed


def test_an_id_taken_meanwhile_is_answered_with_the_original(app: App) -> None:
    # A rival writes the same command (same event id) first: the retry finds it stored.
    started(app)
    real_write = app.deps.write
    calls = 0

    def write(*aggregates: Any, order: Sequence[str] = ()) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            other: Any = app.store.repository.get(aggregates[0].id)
            other.think(_meta("e-1"), T0, p.ThinkingPayload(content="x"))
            app.store.commit([other], other.collect_events())
            raise IntegrityError("event_id taken")
        return real_write(*aggregates, order=order)

    app.deps.write = write  # type: ignore[method-assign]
    app.store.forget(app.runs.id_for("r-1"))
    result = app.runs.think("r-1", content="x", origin=Origin(event_id="e-1"))
    assert not result.written
    assert result.events[0].event_id == "e-1"
    assert app.runs.load("r-1").version == 3


def test_reads_at_a_seq_replay_the_run_up_to_it(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs_module, "HISTORY_PAGE", 3)  # several pages of history
    app.runs.create_run("s-1", "r-1")  # seq 1
    app.runs.create_run("s-1", "r-2")  # seq 2 (another run of the session)
    app.runs.start_run("r-1")  # seq 3
    app.runs.wait_for_input("r-1")  # seq 4
    app.runs.start_run("r-2")  # seq 5
    app.runs.resume_run("r-1")  # seq 6
    app.runs.complete_run("r-1")  # seq 7
    expected = {1: "queued", 2: "queued", 3: "running", 4: "waiting_input", 5: "waiting_input"}
    expected |= {6: "running", 7: "completed", 99: "completed"}
    for seq, status in expected.items():
        assert app.runs.get_run_at("r-1", seq).status == status, seq
    assert app.runs.get_run_at("r-1", 4).version == 3
    assert app.runs.version_at("r-1", 7) == 5
    with pytest.raises(NotFound) as before:
        app.runs.get_run_at("r-1", 0)
    assert (before.value.kind, before.value.key) == ("run", "r-1 at seq 0")
    with pytest.raises(NotFound) as missing:
        app.runs.load_at("nope", 3, "at seq 3")
    assert (missing.value.kind, missing.value.key) == ("run", "nope")


def test_reads_at_a_position_replay_the_deal_up_to_it(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deals_module, "ID_BATCH", 1)
    app.deals.create_deal("DL-1", "Acme")  # position 1
    app.deals.create_deal("DL-2", "Other")  # 2
    app.deals.move_deal("DL-1", "screening")  # 3
    app.deals.update_deal("DL-1", name="Acme 2")  # 4
    view = app.deals.get_deal_at("DL-1", 3)
    assert (view.stage, view.name, view.version) == ("screening", "Acme", 2)
    assert app.deals.get_deal_at("DL-1", 2).stage == "inbound"
    assert app.deals.get_deal_at("DL-1", 4).name == "Acme 2"
    with pytest.raises(NotFound, match="at position 0"):
        app.deals.get_deal_at("DL-1", 0)
    current = app.deals.get_deal("DL-1")
    assert (current.deal_id, current.name, current.stage, current.version) == (
        "DL-1",
        "Acme 2",
        "screening",
        3,
    )
    assert current.updated_at == app.table.by_ids([app.table.after(3, 1)[0].event_id])[0].timestamp


def test_aggregate_keys() -> None:
    assert aggregate_key("run", {}, "s", "r") == "r"
    with pytest.raises(InvalidInput) as missing:
        aggregate_key("run", {}, "s", None)
    assert (missing.value.field, missing.value.reason) == (
        "run_id",
        "is required for run-scoped events",
    )
    assert aggregate_key("session", {}, "s", None) == "s"
    assert aggregate_key("session", {}, None, None) == SYSTEM_LOG
    assert aggregate_key("deal", {"deal_id": "DL-1"}, None, None) == "DL-1"
    assert aggregate_key("action", {"action_id": 7}, None, None) == "7"
    job = payload_of("worker.job_started", {"job_id": "J-1"})
    assert aggregate_key("job", job, None, None) == "J-1"


def test_payloads_drop_none_values() -> None:
    payload = payload_of("deal.updated", {"deal_id": "DL-1", "name": None, "extra": 1})
    assert payload.model_dump(exclude_none=True) == {"deal_id": "DL-1", "extra": 1}
    assert "name" not in payload.model_fields_set


def test_check_original_compares_owner_type_and_payload(app: App) -> None:
    started(app)
    [original] = app.runs.think("r-1", content="a", origin=Origin(event_id="e-1")).events
    same = p.ThinkingPayload(content="a")
    check_original(original, "run", "r-1", "agent.thinking", same)
    with pytest.raises(EventIdConflict):
        check_original(original, "run", "r-2", "agent.thinking", same)
    with pytest.raises(EventIdConflict):
        check_original(original, "deal", "r-1", "agent.thinking", same)
    with pytest.raises(EventIdConflict):
        check_original(original, "run", "r-1", "run_started", same)
    with pytest.raises(EventIdConflict):
        check_original(original, "run", "r-1", "agent.thinking", p.ThinkingPayload(content="b"))


def test_a_generated_id_taken_meanwhile_by_another_aggregate_is_a_conflict(app: App) -> None:
    # The id source hands out an id that a client already chose for another event: the
    # write fails on the store's unique event_id, and the lookup names the owner.
    started(app)
    ids: Any = app.deps.ids
    taken = f"00000000-0000-4000-8000-{ids.count + 1:012d}"  # the next id it hands out
    app.deals.create_deal("DL-1", "Acme", origin=Origin(event_id=taken))
    with pytest.raises(EventIdConflict, match=r"deal\.created of DL-1"):
        app.runs.think("r-1")
    assert app.deps.backoffs == [0]
    assert app.runs.load("r-1").version == 2


class BehindTheCache:
    """Another process: it writes to the aggregate's stream without this process's cache
    knowing, so the copy cached here is stale and its write fails on the version check."""

    def __init__(self, app: App) -> None:
        self.app, self.done = app, False
        self.real_write = app.deps.write

    def __call__(self, *aggregates: Any, order: Sequence[str] = ()) -> Any:
        if not self.done:
            self.done = True
            store = self.app.store
            other: Any = store.repository.get(aggregates[0].id)
            other.think(_meta("rival"), T0, p.ThinkingPayload())
            mapped = [store.mapper.to_stored_event(e) for e in other.collect_events()]
            store.recorder.insert_events(mapped)
        return self.real_write(*aggregates, order=order)


def test_a_stale_cached_copy_is_forgotten_before_the_retry(app: App) -> None:
    started(app)
    setattr(app.deps, "write", BehindTheCache(app))  # noqa: B010
    result = app.runs.think("r-1", content="mine")
    assert result.written and result.events[0].seq == 4
    assert app.deps.backoffs == [0]
    assert app.runs.load("r-1").version == 4


def _fill_window(app: App, kind: str) -> None:
    """RECENT_IDS more events on the aggregate created by `create_with_id`."""
    for _ in range(RECENT_IDS // 2 + 1):
        if kind == "run":
            app.runs.think("r-1")
            app.runs.think("r-1")
        elif kind == "deal":
            app.deals.update_deal("DL-1", name="a")
            app.deals.update_deal("DL-1", name="b")
        elif kind == "action":
            app.actions.execute("A-1")
            app.actions.fail("A-1", "x")
        else:
            app.jobs.start("J-1")
            app.jobs.fail("J-1", "x")  # and the automatic retry


CREATES: dict[str, Any] = {
    "run": lambda app, o: app.runs.create_run("s-1", "r-1", origin=o),
    "deal": lambda app, o: app.deals.create_deal("DL-1", "Acme", origin=o),
    "action": lambda app, o: app.actions.create_action(
        "A-1", "mail", requires_approval=False, max_executions=RECENT_IDS, origin=o
    ),
    "job": lambda app, o: app.jobs.enqueue("J-1", "enrich", max_attempts=RECENT_IDS, origin=o),
}


@pytest.mark.parametrize("kind", list(CREATES))
def test_a_create_repeated_beyond_the_window_returns_the_original(app: App, kind: str) -> None:
    origin = Origin(event_id="create-1")
    first = CREATES[kind](app, origin)
    if kind == "run":
        app.runs.start_run("r-1")
    _fill_window(app, kind)
    head = app.table.head()
    again = CREATES[kind](app, origin)
    assert (again.written, again.events) == (False, first.events)
    assert app.table.head() == head
    assert app.deps.backoffs == []


def test_an_action_is_created_as_asked(app: App) -> None:
    app.actions.create_action("A-1", "mail", requires_approval=False, max_executions=5)
    action = app.actions.load("A-1")
    assert (action.requires_approval, action.max_executions) == (False, 5)
    app.actions.execute("A-1")  # no approval needed
    app.jobs.enqueue("J-1", "enrich", max_attempts=7)
    assert app.jobs.load("J-1").max_attempts == 7


def test_a_move_expecting_another_stage_is_refused(app: App) -> None:
    from domain.errors import DealError

    app.deals.create_deal("DL-1", "Acme", stage="inbound")
    with pytest.raises(DealError, match="expected it in screening"):
        app.deals.move_deal("DL-1", "junk", from_stage="screening")
    assert app.deals.get_deal("DL-1").stage == "inbound"
