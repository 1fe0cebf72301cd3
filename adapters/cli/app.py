"""The `zakops` Typer application: global options, lazy context, one error mapping.

Exit codes: 0 success, 1 domain refusal (the refusal message), 2 bad usage or bad input
(one line, nothing written), 3 store unreachable, 130 interrupted.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import psycopg
import typer
from eventsourcing.persistence import InterfaceError, OperationalError

from adapters.cli.context import CliContext, Hooks, Overrides
from adapters.cli.output import errors
from domain.errors import DomainError, InvalidInput

F = TypeVar("F", bound=Callable[..., Any])
UNREACHABLE = (
    psycopg.OperationalError,
    OperationalError,
    InterfaceError,
    sqlite3.OperationalError,
    ConnectionError,
)


def fail(code: int, message: str) -> typer.Exit:
    errors.print(message.splitlines()[0] if code == 2 else message, markup=False, highlight=False)
    return typer.Exit(code)


def guarded(function: F) -> F:
    """Map every error a command can meet to its exit code and one clear line."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except typer.Exit:
            raise
        except InvalidInput as error:
            raise fail(2, f"error: {error}") from None
        except DomainError as error:
            raise fail(1, f"refused: {error}") from None
        except UNREACHABLE as error:
            raise fail(3, f"store unreachable: {type(error).__name__}: {error}") from None
        except ValueError as error:
            raise fail(2, f"error: {error}") from None
        except KeyboardInterrupt:
            raise fail(130, "interrupted: every batch written so far is complete") from None

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


def make_cli(hooks: Hooks) -> typer.Typer:
    from adapters.cli import ops, reads, writes

    app = typer.Typer(
        name="zakops",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        help="ZakOps Event Core: run, inspect and repair the event store from a terminal.",
    )
    lazy = Lazy(hooks)

    @app.callback()
    def main(
        ctx: typer.Context,
        store: Annotated[str | None, typer.Option(help="memory | sqlite | postgres")] = None,
        dsn: Annotated[str | None, typer.Option(help="PostgreSQL DSN (implies postgres)")] = None,
        sqlite_path: Annotated[str | None, typer.Option(help="the SQLite store file")] = None,
    ) -> None:
        """Settings come from ZAKOPS_* variables and .env; these options override them."""
        if store is not None and store not in {"memory", "sqlite", "postgres"}:
            raise typer.BadParameter("use memory, sqlite or postgres", param_hint="--store")
        lazy.overrides = Overrides(store=store, dsn=dsn, sqlite_path=sqlite_path)
        ctx.call_on_close(lazy.close)

    groups = reads.register(app, lazy)
    writes.register(app, lazy, groups)
    ops.register(app, lazy, hooks)
    return app
