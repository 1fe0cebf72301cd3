"""The legacy tables for tests: created from the contract file in shared/, never a copy."""

from __future__ import annotations

from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT.parent / "shared" / "legacy" / "zakops_legacy_schema.sql"


def create_legacy_tables(dsn: str) -> None:
    assert CONTRACT.is_file(), f"the legacy contract is missing: {CONTRACT}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(CONTRACT.read_text())
