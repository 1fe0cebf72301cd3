"""The figures of a chaos run, their targets and verdicts, as one rich table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class Bound:
    """A target: `value op limit` must hold."""

    op: Literal["<=", ">=", "=="]
    limit: float

    def met(self, value: float) -> bool:
        if self.op == "<=":
            return value <= self.limit
        if self.op == ">=":
            return value >= self.limit
        return value == self.limit

    def label(self, unit: str) -> str:
        op = "=" if self.op == "==" else self.op
        return f"{op} {self.limit:,g}{unit}"


ZERO = Bound("==", 0)


@dataclass(frozen=True)
class Figure:
    """One measured value; `target=None` is shown for information. A figure with `note`
    and no value is a scenario that could not run (an error, or skipped)."""

    scenario: str
    store: str
    measure: str
    value: float | None
    unit: str = ""
    target: Bound | None = None
    note: str = ""
    failed: bool = False  # the scenario broke before it could measure this

    @property
    def missed(self) -> bool:
        if self.failed:
            return True
        if self.target is None or self.value is None:
            return False
        return not self.target.met(self.value)

    def cells(self) -> tuple[str, str, str, str, Text]:
        shown = "" if self.value is None else f"{_number(self.value)}{self.unit}"
        target = "" if self.target is None else self.target.label(self.unit)
        if self.failed:
            verdict = Text("FAILED", style="bold red")
        elif self.value is None:
            verdict = Text("skipped", style="yellow")
        elif self.target is None:
            verdict = Text("info", style="dim")
        else:
            verdict = Text("missed", style="red") if self.missed else Text("met", style="green")
        return self.measure, shown, target, self.note, verdict


def _number(value: float) -> str:
    """12,345 or 0.8 or 1.85: at most two decimals, no trailing zeros."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def render(figures: Sequence[Figure], title: str, console: Console | None = None) -> None:
    table = Table(title=title, title_justify="left")
    for name in ("scenario", "store", "measure", "value", "target", "note", "verdict"):
        table.add_column(name, overflow="fold", justify="right" if name == "value" else "left")
    previous: tuple[str, str] | None = None
    for figure in figures:
        key = (figure.scenario, figure.store)
        if previous is not None and key[0] != previous[0]:
            table.add_section()
        label = ("", "") if key == previous else key
        table.add_row(*label, *figure.cells())
        previous = key
    (console or Console()).print(table)


@dataclass(frozen=True)
class Scope:
    """Makes the figures of one scenario on one store."""

    scenario: str
    store: str

    def __call__(
        self,
        measure: str,
        value: float,
        target: Bound | None = None,
        unit: str = "",
        note: str = "",
    ) -> Figure:
        return Figure(self.scenario, self.store, measure, value, unit, target, note)
