"""Rendering for the CLI: rich tables and colored states for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from domain.envelope import Envelope

console = Console(soft_wrap=False)
errors = Console(stderr=True)

COLORS = {
    "completed": "green",
    "running": "cyan",
    "queued": "blue",
    "waiting_input": "yellow",
    "failed": "red",
    "cancelled": "magenta",
    "dlq": "red",
    "rejected": "red",
    "approved": "green",
    "quarantined": "yellow",
    "archived": "dim",
    "retrying": "yellow",
}


def colored(state: str) -> str:
    color = COLORS.get(state)
    return f"[{color}]{state}[/{color}]" if color else state


def plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(plain(value), ensure_ascii=False) + "\n")
    sys.stdout.flush()


ID_COLUMNS = frozenset({"key", "session", "run", "deal", "event_id", "id", "correlation"})


def table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    ids: frozenset[str] = ID_COLUMNS,
) -> None:
    """Id columns are never cut (they are pasted into other commands): they keep their
    full width and the other columns fold first."""
    cells = [[str(cell) if cell is not None else "" for cell in row] for row in rows]
    view = Table(title=title)
    for index, column in enumerate(columns):
        if column in ids:
            widest = max([len(column), *(len(row[index]) for row in cells)])
            view.add_column(column, no_wrap=True, min_width=widest)
        else:
            view.add_column(column, overflow="fold")
    for row in cells:
        view.add_row(*row)
    console.print(view)


def events_table(title: str, events: Sequence[Envelope]) -> None:
    table(
        title,
        ["seq", "pos", "time", "type", "session", "run", "payload"],
        [
            (
                e.seq,
                e.position,
                e.timestamp.strftime("%H:%M:%S.%f")[:-3],
                e.type,
                e.session_id,
                e.run_id,
                json.dumps(e.payload, ensure_ascii=False)[:70],
            )
            for e in events
        ],
    )


def event_line(event: Envelope) -> str:
    where = f"{event.session_id or '-'}#{event.seq}" if event.seq else f"@{event.position}"
    run = f" run={event.run_id}" if event.run_id else ""
    return f"{where} {event.type}{run} {json.dumps(event.payload, ensure_ascii=False)[:100]}"
