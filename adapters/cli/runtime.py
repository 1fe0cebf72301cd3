"""What every command module shares: the lazy context and one error mapping.

Exit codes: 0 success, 1 domain refusal (the refusal message), 2 bad usage or bad input
(one line, nothing written), 3 store unreachable, 4 not found, 130 interrupted.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import typer
from eventsourcing.persistence import InterfaceError, OperationalError

from adapters.cli.context import CliContext, Hooks, Overrides
from adapters.cli.output import errors
from application.projector import Projector
from domain.errors import DomainError, InvalidInput, NotFound

F = TypeVar("F", bound=Callable[..., Any])
UNREACHABLE = (
    psycopg.OperationalError,
    OperationalError,
    InterfaceError,
    sqlite3.OperationalError,
    ConnectionError,
)
REFUSED, USAGE, UNREACHABLE_CODE, NOT_FOUND, INTERRUPTED = 1, 2, 3, 4, 130


def fail(code: int, message: str) -> typer.Exit:
    one_line = message.splitlines()[0] if code == USAGE else message
    errors.print(one_line, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def usage(message: str) -> typer.Exit:
    """Bad usage: one line on stderr, exit 2 (Typer's own usage errors end the same way)."""
    return fail(USAGE, f"error: {message}")


def guarded(function: F) -> F:
    """Map every error a command can meet to its exit code and one clear line."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except typer.Exit:
            raise
        except InvalidInput as error:
            raise usage(str(error)) from None
        except NotFound as error:
            raise fail(NOT_FOUND, f"error: {error}") from None
        except DomainError as error:
            raise fail(REFUSED, f"refused: {error}") from None
        except UNREACHABLE as error:
            message = f"store unreachable: {type(error).__name__}: {error}"
            raise fail(UNREACHABLE_CODE, message) from None
        except ValueError as error:
            raise usage(str(error)) from None
        except KeyboardInterrupt:
            message = "interrupted: every batch written so far is complete"
            raise fail(INTERRUPTED, message) from None

    return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature Typer reads


class Lazy:
    """Builds the context on first use, so `--help` and usage errors touch no store."""

    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks
        self.overrides = Overrides()
        self._context: CliContext | None = None

    def __call__(self) -> CliContext:
        if self._context is None:
            self._context = self.hooks.build(self.overrides)
        return self._context

    def close(self) -> None:
        if self._context is not None:
            self._context.close()
            self._context = None


def catch_up_projections(context: CliContext) -> None:
    """After a write: bring each enabled projection (the legacy tables, with
    ZAKOPS_LEGACY_DSN) up to the log, so the CLI never leaves them behind; when that fails,
    say how far behind they are and how to catch up."""
    for name, projector in context.projectors.items():
        try:
            projector.catch_up()
            parked = projector.parked_count()
        except Exception as error:  # the write is done: report, never undo or hide it
            lag = _lag(projector)
            errors.print(
                f"{name} projection: {lag} event(s) behind ({type(error).__name__}); "
                "`zakops projections run --once` catches it up",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            continue
        if parked:
            errors.print(
                f"{name} projection: {parked} event(s) parked; see `zakops projections status`",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


def _lag(projector: Projector) -> str:
    try:
        return str(projector.lag())
    except Exception:  # the view itself may be what is unreachable
        return "some"
