"""The mutation score of domain/ and application/ from mutmut's per-file results (mutants/).

Killed = killed + timeout + caught by type check; the score counts every checked mutant,
survivors and mutants no test reaches included. Works on a partial run (unchecked ones are
counted apart). Exits 1 when a package is below its target. Survivors go to
mutants/survivors-<package>.txt, and the functions with most survivors are printed; one
diff: `mutmut show NAME`."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

KILLED = {"killed", "timeout", "caught by type check"}
TARGETS = {"domain": 85.0, "application": 75.0}  # percent of checked mutants killed
SHOWN = 15  # functions with most survivors, per package


def function_of(mutant: str) -> str:
    """`application.emitter.xǁEmitterǁ_write__mutmut_13` -> `application.emitter.Emitter._write`."""
    name = mutant.rsplit("__mutmut_", 1)[0]
    module, _, function = name.rpartition(".")
    return f"{module}.{function.removeprefix('x').removeprefix('_').strip('ǁ').replace('ǁ', '.')}"


def main() -> int:
    root = Path("mutants")
    failed = False
    for package, target in TARGETS.items():
        counts: Counter[str] = Counter()
        survivors: list[str] = []
        by_function: Counter[str] = Counter()
        for meta in sorted((root / package).rglob("*.py.meta")):
            results = json.loads(meta.read_text())["exit_code_by_key"]
            for name, code in results.items():
                status = status_by_exit_code[code]
                counts[status] += 1
                if status in ("survived", "no tests"):
                    survivors.append(f"{status}: {name}")
                    by_function[function_of(name)] += 1
        checked = sum(n for status, n in counts.items() if status != "not checked")
        killed = sum(counts[status] for status in KILLED)
        score = 100 * killed / checked if checked else 0.0
        verdict = "ok" if score >= target else f"BELOW the {target:.0f}% target"
        print(f"{package}/: {killed}/{checked} killed ({score:.1f}%, {verdict}); {dict(counts)}")
        for function, count in by_function.most_common(SHOWN):
            print(f"  {count:3d} {function}")
        out = root / f"survivors-{package}.txt"
        out.write_text("\n".join(survivors) + "\n")
        print(f"  survivors and untested mutants: {out}")
        failed = failed or score < target
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
