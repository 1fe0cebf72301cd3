"""`domain` imports only the standard library, pydantic and eventsourcing.domain/.utils,
and never reads a clock or the environment."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
ALLOWED_THIRD_PARTY = {"pydantic", "pydantic_core", "eventsourcing.domain", "eventsourcing.utils"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def allowed(module: str) -> bool:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in {"domain", "__future__"}:
        return True
    return any(module == ok or module.startswith(ok + ".") for ok in ALLOWED_THIRD_PARTY)


def test_domain_imports_only_what_it_may() -> None:
    files = sorted(DOMAIN.glob("*.py"))
    assert files
    offenders = {
        f"{path.name}: {module}"
        for path in files
        for module in imported_modules(path)
        if not allowed(module)
    }
    assert offenders == set()


def test_domain_reads_no_clock_and_no_environment() -> None:
    forbidden = [
        r"datetime\.now",
        r"utcnow",
        r"time\.time",
        r"os\.environ",
        r"getenv",
        r"uuid4",
        r"(?<![\w.])open\(",
    ]
    found = [
        f"{path.name}: {pattern}"
        for path in DOMAIN.glob("*.py")
        for pattern in forbidden
        if re.search(pattern, path.read_text())
    ]
    assert found == []


def test_the_checker_would_notice_a_bad_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import psycopg\nfrom eventsourcing.persistence import Mapper\n")
    assert {m for m in imported_modules(bad) if not allowed(m)} == {
        "psycopg",
        "eventsourcing.persistence",
    }
