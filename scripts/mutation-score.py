"""The mutation score of domain/ and application/ from mutmut's per-file results (mutants/).

Killed = killed + timeout + caught by type check; the score counts every checked mutant,
survivors and mutants no test reaches included. Works on a partial run (unchecked ones are
listed apart). Survivors: `mutmut results`, one diff: `mutmut show NAME`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

KILLED = {"killed", "timeout", "caught by type check"}


def main() -> int:
    root = Path("mutants")
    for package in ("domain", "application"):
        counts: Counter[str] = Counter()
        survivors: list[str] = []
        for meta in sorted((root / package).rglob("*.py.meta")):
            results = json.loads(meta.read_text())["exit_code_by_key"]
            for name, code in results.items():
                status = status_by_exit_code[code]
                counts[status] += 1
                if status in ("survived", "no tests"):
                    survivors.append(f"{status}: {name}")
        checked = sum(n for status, n in counts.items() if status != "not checked")
        killed = sum(counts[status] for status in KILLED)
        score = 100 * killed / checked if checked else 0.0
        print(f"{package}/: {killed}/{checked} killed ({score:.1f}%); {dict(counts)}")
        out = root / f"survivors-{package}.txt"
        out.write_text("\n".join(survivors) + "\n")
        print(f"  survivors and untested mutants: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
