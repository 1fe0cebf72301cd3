"""`make chaos`: the service under faults and hostile clients, against real servers.

    python -m chaos           # the full run (a few minutes)
    python -m chaos --quick   # smaller sizes, what CI runs (`make chaos-quick`)
    python -m chaos --only 1,3

Prints one table of figures and exits 1 when a target is missed or a scenario fails.
"""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console

from chaos.report import render
from chaos.runner import run_all
from chaos.scenarios import SCENARIOS
from chaos.workspace import Workspace


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (CI)")
    parser.add_argument("--only", default="", help="scenario numbers, e.g. 1,3")
    parser.add_argument("--keep", action="store_true", help="keep the stores and server logs")
    args = parser.parse_args()
    chosen = {int(n) for n in args.only.split(",") if n.strip()}
    scenarios = [s for s in SCENARIOS if not chosen or s.number in chosen]
    console = Console(width=None if sys.stdout.isatty() else 130)  # CI logs: no folding
    ws = Workspace(quick=args.quick, keep=args.keep)
    started = time.monotonic()
    try:
        figures = run_all(scenarios, ws, console)
    finally:
        ws.close()
    mode = "quick" if args.quick else "full"
    render(figures, f"chaos ({mode}, {time.monotonic() - started:.0f} s)", console)
    if args.keep:
        console.print(f"stores and server logs kept in {ws.root}")
    missed = [f for f in figures if f.missed]
    if missed:
        console.print(f"[red]{len(missed)} target(s) missed[/red]")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
