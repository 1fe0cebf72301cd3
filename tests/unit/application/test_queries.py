"""The query service's bounds and lookups (application/queries.py), over a recording fake
of the timeline view."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from application.ports import Page, StateRow
from application.queries import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_SEQ,
    QueryService,
    check_key,
    check_limit,
    check_non_negative,
)
from domain.envelope import Envelope
from domain.errors import InvalidInput, NotFound

AT = datetime(2026, 2, 6, tzinfo=UTC)
ENVELOPE = Envelope.parse(
    {
        "type": "deal.created",
        "timestamp": AT,
        "event_id": "e-1",
        "source": "api",
        "payload": {"deal_id": "DL-1", "name": "x"},
    }
)
ROW = StateRow("run", "r-1", "queued", "s-1", None, AT, 1)


class RecordingView:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.found: list[Envelope] = [ENVELOPE]
        self.count: dict[str, int] = {}
        self.rows = Page([], 0)
        self.row: StateRow | None = None
        self.last = 0

    def _record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))

    def by_session(self, *args: Any) -> list[Envelope]:
        self._record("by_session", *args)
        return self.found

    def by_run(self, *args: Any) -> list[Envelope]:
        self._record("by_run", *args)
        return self.found

    def recent(self, limit: int, types: Sequence[str]) -> list[Envelope]:
        self._record("recent", limit, types)
        return self.found

    def after(self, *args: Any) -> list[Envelope]:
        self._record("after", *args)
        return self.found

    def by_correlation(self, *args: Any) -> list[Envelope]:
        self._record("by_correlation", *args)
        return self.found

    def by_ids(self, ids: Sequence[str]) -> list[Envelope]:
        self._record("by_ids", list(ids))
        return self.found

    def counts(self, since: datetime | None) -> dict[str, int]:
        self._record("counts", since)
        return self.count

    def states(self, *args: Any) -> Page:
        self._record("states", *args)
        return self.rows

    def state(self, *args: Any) -> StateRow | None:
        self._record("state", *args)
        return self.row

    def last_seq(self, session_id: str) -> int:
        self._record("last_seq", session_id)
        return self.last

    def head(self) -> int:
        return 42


@pytest.fixture
def view() -> RecordingView:
    return RecordingView()


@pytest.fixture
def queries(view: RecordingView) -> QueryService:
    return QueryService(view)  # type: ignore[arg-type]  # a partial fake: only what is read


def test_limits_are_bounded() -> None:
    assert check_limit(1) == 1
    assert check_limit(MAX_LIMIT) == MAX_LIMIT
    for bad in (0, -1, MAX_LIMIT + 1):
        with pytest.raises(InvalidInput, match=f"between 1 and {MAX_LIMIT}, got {bad}") as caught:
            check_limit(bad)
        assert caught.value.field == "limit"
    with pytest.raises(InvalidInput) as named:
        check_limit(0, "size")
    assert named.value.field == "size"


def test_offsets_and_seqs_are_bounded() -> None:
    assert check_non_negative(None, "x") == 0
    assert check_non_negative(0, "x") == 0
    assert check_non_negative(MAX_SEQ, "x") == MAX_SEQ
    assert check_non_negative(5, "x", 5) == 5
    for bad, most in ((-1, MAX_SEQ), (MAX_SEQ + 1, MAX_SEQ), (6, 5)):
        with pytest.raises(InvalidInput, match=f"between 0 and {most}, got {bad}") as caught:
            check_non_negative(bad, "since_seq", most)
        assert caught.value.field == "since_seq"


def test_keys_are_bounded_and_storable() -> None:
    assert check_key("a", "f") == "a"
    assert check_key("x" * 100, "f") == "x" * 100
    for bad in ("", "x" * 101):
        with pytest.raises(
            InvalidInput, match=r"^session_id: must be 1 to 100 characters$"
        ) as caught:
            check_key(bad, "session_id")
        assert caught.value.field == "session_id"
    with pytest.raises(InvalidInput, match="NUL") as nul:
        check_key("a\x00b", "run_id")
    assert nul.value.field == "run_id"


def test_the_reads_pass_checked_arguments(queries: QueryService, view: RecordingView) -> None:
    assert queries.get_events_by_session("s-1") == [ENVELOPE]
    queries.get_events_by_session("s-1", since_seq=3, limit=7, run_id="r-1")
    queries.get_events_by_run("r-1")
    queries.get_events_by_run("r-1", 2, 5)
    queries.get_events_after()
    queries.get_events_after(9, 4)
    queries.get_by_correlation_id("DL-1")
    queries.get_by_correlation_id("DL-1", 3, 6)
    assert view.calls == [
        ("by_session", ("s-1", 0, DEFAULT_LIMIT, None)),
        ("by_session", ("s-1", 3, 7, "r-1")),
        ("by_run", ("r-1", 0, DEFAULT_LIMIT)),
        ("by_run", ("r-1", 2, 5)),
        ("after", (0, DEFAULT_LIMIT)),
        ("after", (9, 4)),
        ("by_correlation", ("DL-1", DEFAULT_LIMIT, 0)),
        ("by_correlation", ("DL-1", 3, 6)),
    ]
    assert queries.head() == 42


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda q: q.get_events_by_session("", 0), "session_id"),
        (lambda q: q.get_events_by_session("s", -1), "since_seq"),
        (lambda q: q.get_events_by_session("s", 0, 0), "limit"),
        (lambda q: q.get_events_by_run("", 0), "run_id"),
        (lambda q: q.get_events_by_run("r", -1), "since_seq"),
        (lambda q: q.get_events_by_run("r", 0, MAX_LIMIT + 1), "limit"),
        (lambda q: q.get_events_after(-1), "position"),
        (lambda q: q.get_events_after(0, 0), "limit"),
        (lambda q: q.get_by_correlation_id(""), "correlation_id"),
        (lambda q: q.get_by_correlation_id("c", 0), "limit"),
        (lambda q: q.get_by_correlation_id("c", 1, MAX_OFFSET + 1), "offset"),
        (lambda q: q.get_recent(0), "limit"),
        (lambda q: q.get_by_id(""), "event_id"),
        (lambda q: q.list_states("run", limit=0), "limit"),
        (lambda q: q.list_states("run", offset=MAX_OFFSET + 1), "offset"),
        (lambda q: q.list_states("run", status=""), "status"),
        (lambda q: q.list_states("run", session_id="a\x00"), "session_id"),
        (lambda q: q.get_session(""), "session_id"),
        (lambda q: q.get_state("run", ""), "run_id"),
    ],
)
def test_bad_arguments_never_reach_the_view(
    queries: QueryService, view: RecordingView, call: Any, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        call(queries)
    assert caught.value.field == field
    assert view.calls == []


def test_offsets_up_to_the_bound_are_accepted(queries: QueryService, view: RecordingView) -> None:
    queries.get_by_correlation_id("c", 1, MAX_OFFSET)
    queries.list_states("deal", 1, MAX_OFFSET)
    assert [args[-1] for _, args in view.calls] == [MAX_OFFSET, MAX_OFFSET]


def test_recent_resolves_aliases_once_sorted(queries: QueryService, view: RecordingView) -> None:
    queries.get_recent()
    queries.get_recent(5, ["agent.run_started", "run_started", "deal.created"])
    assert view.calls == [
        ("recent", (50, [])),
        ("recent", (5, ["deal.created", "run_started"])),
    ]


def test_an_event_by_id(queries: QueryService, view: RecordingView) -> None:
    assert queries.get_by_id("e-1") == ENVELOPE
    assert view.calls == [("by_ids", (["e-1"],))]
    view.found = []
    with pytest.raises(NotFound) as caught:
        queries.get_by_id("e-2")
    assert (caught.value.kind, caught.value.key) == ("event", "e-2")


def test_stats_by_type_and_domain(queries: QueryService, view: RecordingView) -> None:
    view.count = {"run_started": 2, "deal.created": 1, "run_created": 3, "custom.x": 4}
    stats = queries.get_stats(AT)
    assert stats.since == AT
    assert stats.total == 10
    assert list(stats.by_type) == ["custom.x", "deal.created", "run_created", "run_started"]
    assert stats.by_domain == {"run": 5, "deal": 1, "custom": 4}
    assert view.calls == [("counts", (AT,))]
    assert queries.get_stats().since is None
    with pytest.raises(InvalidInput, match=r"^since: must be timezone-aware$") as caught:
        queries.get_stats(datetime(2026, 1, 1))
    assert caught.value.field == "since"


def test_listings_take_known_kinds_and_filters(queries: QueryService, view: RecordingView) -> None:
    queries.list_states("run", status="running", session_id="s-1", deal_id=None)
    queries.list_states("job", 5, 10, deal_id="DL-1")
    assert view.calls == [
        ("states", ("run", {"status": "running", "session_id": "s-1"}, DEFAULT_LIMIT, 0)),
        ("states", ("job", {"deal_id": "DL-1"}, 5, 10)),
    ]
    for kind in ("deal", "action"):
        queries.list_states(kind)
    with pytest.raises(InvalidInput, match=r"^kind: must be run, deal, action or job$") as caught:
        queries.list_states("session")
    assert caught.value.field == "kind"
    with pytest.raises(InvalidInput, match=r"^owner: is not a filter of this listing$") as unknown:
        queries.list_states("run", owner="x", zone="y")
    assert unknown.value.field == "owner"


def test_a_session_is_its_last_seq_and_its_runs(queries: QueryService, view: RecordingView) -> None:
    with pytest.raises(NotFound) as caught:
        queries.get_session("s-1")
    assert (caught.value.kind, caught.value.key) == ("session", "s-1")
    view.last = 3
    summary = queries.get_session("s-1")
    assert (summary.session_id, summary.last_seq, summary.runs) == ("s-1", 3, [])
    view.last, view.rows = 0, Page([ROW], 1)
    assert queries.get_session("s-1").runs == [ROW]
    assert ("states", ("run", {"session_id": "s-1"}, MAX_LIMIT, 0)) in view.calls


def test_a_state_row(queries: QueryService, view: RecordingView) -> None:
    with pytest.raises(NotFound) as caught:
        queries.get_state("run", "r-1")
    assert (caught.value.kind, caught.value.key) == ("run", "r-1")
    view.row = ROW
    assert queries.get_state("run", "r-1") == ROW
    assert view.calls[-1] == ("state", ("run", "r-1"))
    with pytest.raises(InvalidInput) as bad:
        queries.get_state("deal", "a\x00")
    assert bad.value.field == "deal_id"
