"""Rows of the results table, their targets and verdicts, and small timing helpers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Target:
    """`ratio >= value` (rates: higher is better) or `ratio <= value` (latency, memory).

    An informative target is shown with its verdict but is not a goal for this backend."""

    op: Literal[">=", "<="]
    value: float
    informative: bool = False

    @property
    def label(self) -> str:
        return f"{self.op} {self.value:g}x" + (" (info)" if self.informative else "")

    def met(self, ratio: float) -> bool:
        return ratio >= self.value if self.op == ">=" else ratio <= self.value


@dataclass(frozen=True)
class Row:
    backend: str
    measurement: str
    ours: str
    baseline: str
    ratio: float | None = None
    target: Target | None = None

    @property
    def verdict(self) -> str:
        if self.ratio is None or self.target is None:
            return ""
        met = self.target.met(self.ratio)
        word = "[green]met[/green]" if met else "[red]missed[/red]"
        return (
            f"[dim]{'met' if met else 'missed'} (info)[/dim]" if self.target.informative else word
        )


def rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else float("inf")


def per_s(value: float) -> str:
    return f"{value:,.0f}/s"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def percentile(samples: list[float], q: float) -> float:
    """The `q` quantile (nearest rank) of non-empty `samples`."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def medians(rounds: int, contenders: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Median rate of each contender over `rounds` rounds; in every round each runs once, in
    the order given (baseline first), so a slow spell of the machine hits all of them."""
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, measure in contenders.items():
            rates[name].append(measure())
    return {name: statistics.median(values) for name, values in rates.items()}


@dataclass
class Clock:
    """Wall time per part of the run, for the closing summary."""

    parts: list[tuple[str, str, float]]
    console: Console

    @contextmanager
    def part(self, backend: str, name: str) -> Iterator[None]:
        self.console.print(f"  [cyan]{backend}[/cyan] {name} ...")
        start = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - start
            self.parts.append((backend, name, took))
            self.console.print(f"  [cyan]{backend}[/cyan] {name}: {took:.1f} s")


def results_table(rows: list[Row]) -> Table:
    table = Table(title="ZakOps Event Core benchmarks (ratio = ours / baseline)")
    for column in ("backend", "measurement", "ours", "baseline", "ratio", "target", "verdict"):
        table.add_column(column, overflow="fold")
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        label = "" if row.target is None else row.target.label
        table.add_row(
            row.backend, row.measurement, row.ours, row.baseline, ratio, label, row.verdict
        )
    return table


def timing_table(parts: list[tuple[str, str, float]]) -> Table:
    table = Table(title="wall time per part")
    for column in ("backend", "part", "seconds"):
        table.add_column(column)
    for backend, name, took in parts:
        table.add_row(backend, name, f"{took:,.1f}")
    table.add_row("", "total", f"{sum(t for _, _, t in parts):,.1f}")
    return table
