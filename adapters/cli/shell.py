"""The top-level command class: tidy help (no `<bool>` or `<str>` metavars) and one style for
every usage error, ours or Click's: one line on stderr, exit 2."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from adapters.cli.output import errors
from adapters.cli.runtime import INTERRUPTED


def tidy_help(command: Any) -> None:
    """Flags show no metavar, choices their values (`<memory|sqlite|postgres>`), other
    options their name (`--session SESSION`), instead of `<bool>` and `<str>`."""
    context = typer.Context(command)
    for param in command.get_params(context):
        if param.metavar is not None or not param.name:
            continue
        if param.param_type_name == "argument":
            param.metavar = param.name.upper()
            param.display_type_rich = lambda ctx: None  # the name says it; no `<str>`
        elif getattr(param, "is_flag", False):
            param.metavar = ""
        elif "|" not in param.display_type(context):
            param.metavar = param.name.upper()
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)


def one_line(error: typer.TyperException) -> str:
    message = " ".join(error.format_message().replace("Value error, ", "").split())
    context = getattr(error, "ctx", None)
    hint = f" (see `{context.command_path} --help`)" if context is not None else ""
    return f"error: {message}{hint}"


class ZakopsGroup(TyperGroup):
    def main(  # type: ignore[override]  # Click's main is overloaded; this is its one real form
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        tidy_help(self)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as error:  # Click's usage errors (exit code 2) and kin
            errors.print(one_line(error), markup=False, highlight=False, soft_wrap=True)
            code = error.exit_code
        except typer.Exit as error:
            code = error.exit_code
        except typer.Abort:
            errors.print("interrupted", markup=False, highlight=False)
            code = INTERRUPTED
        else:
            code = result if isinstance(result, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)
