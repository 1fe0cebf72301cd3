"""The console's pure pieces: the run story (waterfall), a deal's stays in each stage, the
activity window, relative times, where a sign-in may send the browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.console.deals import stays
from adapters.console.render import ago, duration
from adapters.console.signin import safe_next
from adapters.console.waterfall import story
from adapters.console.window import ActivityWindow
from domain.envelope import Envelope

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def event(seq: int, type: str, seconds: float, **payload: Any) -> dict[str, Any]:
    moment = (T0 + timedelta(seconds=seconds)).isoformat()
    return {"seq": seq, "type": type, "timestamp": moment, "payload": payload}


def test_the_waterfall_spans_tool_calls_and_waits_and_marks_policy() -> None:
    events = [
        event(1, "run_started", 0),
        event(2, "agent.tool_called", 1, tool_call_id="a", tool_name="search"),
        event(3, "agent.tool_completed", 3, tool_call_id="a"),
        event(4, "agent.tool_called", 4, tool_call_id="b", tool_name="shell"),
        event(5, "tool_policy_blocked", 4, tool_call_id="b", tool_name="shell"),
        event(6, "agent.tool_failed", 5, tool_call_id="b", error="blocked"),
        event(7, "tool_policy_warn", 6, tool_name="search"),
        event(8, "run_waiting_input", 6),
        event(9, "run_resumed", 10),
        event(10, "agent.thinking", 10, content="hm"),
        event(11, "verify_start", 10),
    ]
    told = story(events, T0 + timedelta(seconds=60))
    search, shell, wait = told.bars
    assert (search.label, search.outcome, search.seconds, search.marks) == (
        "search",
        "completed",
        2.0,
        ["warned"],
    )
    assert (shell.outcome, shell.marks) == ("failed", ["blocked"])
    assert (wait.kind, wait.outcome, wait.seconds) == ("wait", "resumed", 4.0)
    assert search.left == 10.0 and search.width == 20.0  # of a 10 s run
    assert [e["seq"] for e in told.thoughts] == [10] and len(told.gate) == 1


def test_a_deal_stays_in_each_stage_until_the_next_move() -> None:
    events = [
        event(1, "deal.created", 0, deal_id="D", stage="inbound"),
        event(2, "deal.stage_changed", 60, deal_id="D", to_stage="screening", reason="fit"),
        event(3, "deal.profile_enriched", 90, deal_id="D"),
        event(4, "deal.archived", 600, deal_id="D"),
    ]
    found = stays(events, "D", T0 + timedelta(seconds=700))
    assert [(s.stage, s.seconds) for s in found] == [
        ("inbound", 60),
        ("screening", 540),
        ("archived", 100),
    ]
    assert found[1].reason == "fit" and found[-1].until is None


class FakeLog:
    """The two queries the activity window reads."""

    def __init__(self, envelopes: list[Envelope]) -> None:
        self.envelopes = envelopes

    def head(self) -> int:
        return len(self.envelopes)

    def get_events_after(self, position: int = 0, limit: int = 100) -> list[Envelope]:
        return self.envelopes[position : position + limit]


def envelope(position: int, type: str, at: datetime) -> Envelope:
    return Envelope.model_validate(
        {
            "type": type,
            "timestamp": at,
            "session_id": "s",
            "seq": position,
            "event_id": f"e{position}",
            "position": position,
            "source": "test",
            "payload": {},
        }
    )


def test_the_activity_window_counts_by_minute_and_domain() -> None:
    now = T0 + timedelta(minutes=90, seconds=30)
    log = FakeLog(
        [
            envelope(1, "custom.deal", T0),  # 90 minutes ago: outside the hour
            envelope(2, "custom.run", now - timedelta(seconds=20)),
            envelope(3, "custom.deal", now - timedelta(seconds=10)),
            envelope(4, "custom.note", now - timedelta(minutes=5)),
        ]
    )
    window = ActivityWindow(log, lambda t: t.split(".")[1], now=lambda: now)
    window.refresh()
    minutes = window.minutes()
    assert len(minutes) == 60 and minutes[-1].start == now.replace(second=0)
    assert minutes[-1].by_domain == {"run": 1, "deal": 1}
    assert sum(m.total for m in minutes) == 3
    log.envelopes.append(envelope(5, "custom.run", now))
    window.refresh()
    assert minutes[-1].total == 2 and window.minutes()[-1].total == 3


def test_times_read_as_people_say_them() -> None:
    assert ago(T0 - timedelta(seconds=5), now=T0) == "5 s ago"
    assert ago(T0 - timedelta(hours=3, minutes=2), now=T0) == "3 h ago"
    assert duration(0.0123) == "12 ms" and duration(90) == "90.0 s" and duration(7200) == "2.0 h"


def test_a_sign_in_only_sends_the_browser_to_console_pages() -> None:
    assert safe_next("/console/runs/r-1") == "/console/runs/r-1"
    for elsewhere in ("https://evil.example/", "//evil.example/console/", "/api/events", ""):
        assert safe_next(elsewhere) == "/console/"
