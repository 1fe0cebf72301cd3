"""Runs scenarios one after the other: each gives its figures, or a failed figure saying what
broke, or a skipped one (PostgreSQL unavailable outside CI: tests/postgres.py decides)."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from rich.console import Console

from chaos.report import Figure
from chaos.workspace import Workspace


@dataclass(frozen=True)
class Scenario:
    number: int
    title: str
    store: str
    run: Callable[[Workspace], list[Figure]]


def run(scenario: Scenario, ws: Workspace, console: Console) -> list[Figure]:
    console.print(f"[bold]{scenario.title}[/bold] ({scenario.store}) ...", end=" ")
    started = time.monotonic()
    try:
        figures = scenario.run(ws)
    except pytest.skip.Exception as skipped:
        reason = str(skipped.msg)
        console.print(f"[yellow]skipped[/yellow]: {reason}")
        return [Figure(scenario.title, scenario.store, "scenario", None, note=reason)]
    except pytest.fail.Exception as required:  # PostgreSQL missing where it is required
        console.print(f"[red]failed[/red]: {required.msg}")
        return [failed(scenario, str(required.msg))]
    except Exception as error:
        console.print("[red]failed[/red]")
        console.print(traceback.format_exc(), markup=False, highlight=False)
        return [failed(scenario, f"{type(error).__name__}: {error}")]
    missed = sum(f.missed for f in figures)
    verdict = f"[red]{missed} missed[/red]" if missed else "[green]ok[/green]"
    console.print(f"{verdict} in {time.monotonic() - started:.1f} s")
    return figures


def failed(scenario: Scenario, reason: str) -> Figure:
    note = reason.splitlines()[0][:120]
    return Figure(scenario.title, scenario.store, "scenario", None, note=note, failed=True)


def run_all(scenarios: Sequence[Scenario], ws: Workspace, console: Console) -> list[Figure]:
    return [figure for scenario in scenarios for figure in run(scenario, ws, console)]
