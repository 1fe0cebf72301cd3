"""The CLI's one error mapping (adapters.cli.runtime.guarded), imported directly: each error a
command can meet leaves with its documented exit code."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import psycopg
import pytest
import typer

from adapters.cli.runtime import guarded
from domain.errors import InvalidInput, NotFound, RunError


def exit_code(error: BaseException) -> int:
    def command() -> None:
        raise error

    wrapped: Callable[[], None] = guarded(command)
    with pytest.raises(typer.Exit) as leaving:
        wrapped()
    return leaving.value.exit_code


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (RunError("r-1", "running", "run_resumed", "not waiting"), 1),
        (InvalidInput("limit", "must be at most 1000"), 2),
        (ValueError("bad"), 2),
        (NotFound("run", "r-9"), 4),
        (sqlite3.OperationalError("unable to open database file"), 3),
        (psycopg.OperationalError("connection refused"), 3),
        (ConnectionError("reset"), 3),
        (KeyboardInterrupt(), 130),
    ],
)
def test_each_error_has_its_exit_code(error: BaseException, code: int) -> None:
    assert exit_code(error) == code


def test_an_exit_passes_through_and_other_errors_are_not_swallowed() -> None:
    assert exit_code(typer.Exit(7)) == 7
    with pytest.raises(RuntimeError):
        guarded(lambda: (_ for _ in ()).throw(RuntimeError("bug")))()
