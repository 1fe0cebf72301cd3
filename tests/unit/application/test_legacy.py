"""The legacy side (application/legacy.py): which events the projection hands to the old
tables, and the idempotent import of their history, with a fake of the legacy view."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from application.legacy import (
    ImportSummary,
    LegacyImporter,
    LegacyItem,
    LegacyProjector,
    LegacyRecord,
)
from application.ports import DeadLetter, LoggedEvent, UnwritableEvents
from domain.archive import IMPORT_SOURCE, Archive
from tests.unit.application.conftest import App

AT = datetime(2025, 1, 1, tzinfo=UTC)


class FakeLegacyView:
    name = "legacy"

    def __init__(self, history: Sequence[LegacyRecord] = ()) -> None:
        self.history = list(history)
        self.tracking = 0
        self.items: list[LegacyItem] = []
        self.parked: list[tuple[int, str, str, str, int]] = []
        self.replayed: list[tuple[list[LegacyItem], int]] = []
        self.kept: list[tuple[int, str]] = []
        self.refuse: set[str] = set()  # event types the tables refuse
        self.was_reset = False

    def create_tables(self) -> None: ...

    def position(self) -> int:
        return self.tracking

    def commit(self, items: Sequence[LegacyItem], position: int, expected: int) -> None:
        assert self.tracking == expected
        if any(item.envelope.type in self.refuse for item in items):
            raise UnwritableEvents("refused")
        self.items += items
        self.tracking = position

    def park(self, position: int, event_id: str, type_name: str, error: str, expected: int) -> None:
        self.parked.append((position, event_id, type_name, error, expected))
        self.tracking = position

    def dead_letters(self) -> list[DeadLetter]:
        return [DeadLetter("legacy", p[0], p[1], p[2], p[3], AT, 1, AT) for p in self.parked]

    def parked_count(self) -> int:
        return len(self.parked)

    def replay(self, items: Sequence[LegacyItem], position: int) -> None:
        self.replayed.append((list(items), position))

    def keep_parked(self, position: int, error: str) -> None:
        self.kept.append((position, error))

    def reset(self) -> None:
        self.was_reset = True

    def foreign_history(self) -> Iterator[LegacyRecord]:
        return iter(self.history)


def test_the_projection_hands_our_events_with_their_aggregate(app: App) -> None:
    app.runs.create_run("s-1", "r-1")
    app.deals.create_deal("DL-1", "Acme")
    view = FakeLegacyView()
    projector = LegacyProjector(app.table, view, batch_size=1)
    assert projector.batch_size == 1
    assert projector.catch_up() == 2
    assert [(i.aggregate, i.envelope.type, i.version) for i in view.items] == [
        ("run", "run_created", 1),
        ("deal", "deal.created", 1),
    ]
    assert view.items[0].aggregate_id == app.runs.id_for("r-1")
    assert projector.view_position() == 2
    projector.rebuild()
    assert view.was_reset


def test_imported_history_and_internal_events_are_never_projected_back(app: App) -> None:
    envelope = app.deals.create_deal("DL-1", "Acme").events[0]
    imported = envelope.model_copy(update={"source": IMPORT_SOURCE})
    events = [
        LoggedEvent(1, imported, app.deals.id_for("DL-1"), 1),
        LoggedEvent(2, None, app.deals.id_for("DL-1"), 2),
        LoggedEvent(3, envelope, app.deals.id_for("DL-1"), 3),
    ]
    assert [i.envelope for i in LegacyProjector.items(events)] == [envelope]


def test_a_refused_event_is_parked_with_its_id_and_type(app: App) -> None:
    app.runs.create_run("s-1", "r-1")
    [bad] = app.deals.create_deal("DL-1", "Acme").events
    app.runs.start_run("r-1")
    view = FakeLegacyView()
    view.refuse = {"deal.created"}
    projector = LegacyProjector(app.table, view)
    projector.catch_up()
    assert view.parked == [(2, bad.event_id, "deal.created", "refused", 1)]
    assert [i.envelope.type for i in view.items] == ["run_created", "run_started"]
    assert projector.parked_count() == 1
    assert projector.dead_letters()[0].event_id == bad.event_id
    view.refuse = set()
    outcome = projector.retry()
    assert outcome.written == 1
    assert [(len(items), at) for items, at in view.replayed] == [(1, 2)]
    projector.keep_parked(2, "again")
    assert view.kept == [(2, "again")]


def test_an_internal_event_is_parked_without_an_id(app: App) -> None:
    view = FakeLegacyView()
    projector = LegacyProjector(app.table, view)
    projector.park(LoggedEvent(5, None, app.deals.id_for("x"), 1), "why", 4)
    assert view.parked == [(5, "-", "-", "why", 4)]


def record(i: int, archive: str = "agent_events") -> LegacyRecord:
    return LegacyRecord(
        event_id=f"legacy-{i}",
        archive=archive,
        type="custom.legacy.note",
        occurred_at=AT + timedelta(minutes=i),
        payload={"n": i},
        session_id="s-old",
        run_id="r-old",
        correlation_id="c-old",
        causation_id="cause",
        actor="old-app",
    )


def test_the_import_is_idempotent_and_reports_progress(app: App) -> None:
    history = [record(i) for i in range(5)] + [record(5, "deal_events")]
    view = FakeLegacyView(history)
    importer = LegacyImporter(app.deps, view, chunk=2)
    seen: list[tuple[int, int]] = []
    summary = importer.run(lambda s: seen.append((s.read, s.imported)))
    assert (summary.read, summary.imported, summary.already) == (6, 6, 0)
    assert summary.archives == {"agent_events", "deal_events"}
    assert seen == [(2, 2), (4, 4), (6, 6), (6, 6)]
    stored = app.table.by_ids(["legacy-3"])[0]
    assert (stored.type, stored.source, stored.timestamp) == (
        "custom.legacy.note",
        IMPORT_SOURCE,
        AT + timedelta(minutes=3),
    )
    assert (stored.session_id, stored.correlation_id, stored.causation_id, stored.actor) == (
        "s-old",
        "c-old",
        "cause",
        "old-app",
    )
    assert stored.payload == {"n": 3}
    assert stored.run_id == "r-old"
    head = app.table.head()
    again = LegacyImporter(app.deps, view, chunk=4).run()
    assert (again.read, again.imported, again.already) == (6, 0, 6)
    assert app.table.head() == head
    archive: Any = app.store.repository.get(Archive.id_for("agent_events"))
    assert archive.version == 6  # opened, then five imported
    assert archive.created_on == AT  # opened at the first record's time


def test_an_import_without_progress_or_history() -> None:
    from tests.unit.application.conftest import make_app

    app = make_app()
    summary = LegacyImporter(app.deps, FakeLegacyView()).run()
    assert summary == ImportSummary()
    assert app.table.head() == 0
    history = [record(i) for i in range(3)]
    assert LegacyImporter(app.deps, FakeLegacyView(history)).run().imported == 3
    assert LegacyImporter(app.deps, FakeLegacyView(history)).chunk == 500
    app.store.close()
