"""The `zakops` Typer application: global options, the command modules, one error style.

Exit codes (adapters/cli/runtime.py): 0 success, 1 domain refusal, 2 bad usage or bad input
(one line, nothing written), 3 store unreachable, 4 not found, 130 interrupted.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from adapters.cli import ops, reads, writes
from adapters.cli.context import Hooks, Overrides
from adapters.cli.runtime import Lazy
from adapters.cli.shell import ZakopsGroup

StoreName = Literal["memory", "sqlite", "postgres"]


def make_cli(hooks: Hooks) -> typer.Typer:
    app = typer.Typer(
        name="zakops",
        cls=ZakopsGroup,
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        help="ZakOps Event Core: run, inspect and repair the event store from a terminal.",
    )
    lazy = Lazy(hooks)

    @app.callback()
    def main(
        ctx: typer.Context,
        store: Annotated[StoreName | None, typer.Option(help="the event store")] = None,
        dsn: Annotated[str | None, typer.Option(help="PostgreSQL DSN (implies postgres)")] = None,
        sqlite_path: Annotated[str | None, typer.Option(help="the SQLite store file")] = None,
    ) -> None:
        """Settings come from ZAKOPS_* variables and .env; these options override them."""
        lazy.overrides = Overrides(store=store, dsn=dsn, sqlite_path=sqlite_path)
        ctx.call_on_close(lazy.close)

    groups = reads.register(app, lazy)
    writes.register(app, lazy, groups)
    ops.register(app, lazy, hooks)
    return app
