"""A run's story from its events: tool calls as a waterfall, waits, thinking, the verify gate.

Pure functions over envelopes (as JSON dicts); the run page draws what they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Bar:
    """One span on the waterfall: a tool call, or a wait for input."""

    label: str
    kind: str  # tool | wait
    seq: int
    start: datetime
    end: datetime | None = None
    outcome: str = "open"  # completed | failed | open | resumed
    marks: list[str] = field(default_factory=list)  # blocked, warned
    left: float = 0.0  # percent of the run's span
    width: float = 0.0

    @property
    def seconds(self) -> float | None:
        return None if self.end is None else (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class Story:
    bars: list[Bar]
    thoughts: list[dict[str, Any]]
    gate: list[dict[str, Any]]
    policy: list[dict[str, Any]]
    start: datetime | None
    end: datetime | None


def when(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["timestamp"]))


def story(events: list[dict[str, Any]], now: datetime) -> Story:
    bars: dict[str, Bar] = {}
    waits: list[Bar] = []
    thoughts, gate, policy = [], [], []
    for event in events:
        kind, payload, seq = event["type"], event.get("payload") or {}, int(event["seq"] or 0)
        call = str(payload.get("tool_call_id") or "")
        if kind == "agent.tool_called":
            bars[call] = Bar(str(payload.get("tool_name", "?")), "tool", seq, when(event))
        elif kind in {"agent.tool_completed", "agent.tool_failed"} and call in bars:
            bars[call].end = when(event)
            bars[call].outcome = "completed" if kind.endswith("completed") else "failed"
        elif kind in {"tool_policy_blocked", "tool_policy_warn"}:
            policy.append(event)
            mark = "blocked" if kind == "tool_policy_blocked" else "warned"
            hit = [bars[call]] if call in bars else []
            hit = hit or [b for b in bars.values() if b.label == payload.get("tool_name")][-1:]
            for bar in hit:
                bar.marks.append(mark)
        elif kind == "run_waiting_input":
            waits.append(Bar("waiting for input", "wait", seq, when(event)))
        elif kind == "run_resumed" and waits and waits[-1].end is None:
            waits[-1].end, waits[-1].outcome = when(event), "resumed"
        elif kind == "agent.thinking":
            thoughts.append(event)
        elif kind.startswith("verify_"):
            gate.append(event)
    ordered = sorted([*bars.values(), *waits], key=lambda b: b.seq)
    start = when(events[0]) if events else None
    end = when(events[-1]) if events else None
    place(ordered, start, end if any(b.end for b in ordered) or not ordered else now)
    return Story(ordered, thoughts, gate, policy, start, end)


def place(bars: list[Bar], start: datetime | None, end: datetime | None) -> None:
    """Position each bar in percent of the run's span (a minimum width keeps it visible)."""
    if start is None or end is None:
        return
    span = max((end - start).total_seconds(), 1e-3)
    for bar in bars:
        finish = bar.end or end
        bar.left = min(99.0, 100 * (bar.start - start).total_seconds() / span)
        bar.width = max(1.0, min(100 - bar.left, 100 * (finish - bar.start).total_seconds() / span))
