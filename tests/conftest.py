"""Shared fixtures. PostgreSQL tests skip when no server answers, except under CI
(`CI=true` or `ZAKOPS_REQUIRE_POSTGRES=1`), where an unreachable server fails them."""

from __future__ import annotations

import os

import pytest

REQUIRE_POSTGRES = os.environ.get("ZAKOPS_REQUIRE_POSTGRES") == "1" or (
    os.environ.get("CI", "").lower() == "true"
)


def postgres_unavailable(reason: str) -> None:
    """Skip locally; fail when PostgreSQL is required."""
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required under CI but unavailable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")
