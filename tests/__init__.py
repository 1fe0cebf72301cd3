"""Tests run with a clean, explicit environment: imported before any conftest or test module,
so before `entrypoints.settings` reads it. No `.env` from the working directory (here or in the
processes the tests start, which inherit `ZAKOPS_ENV_FILE`), and no `ZAKOPS_*` setting inherited
from the shell; only the variables that tell the tests where their servers are survive."""

from __future__ import annotations

import os

# where the test servers are and whether they are required: read by tests/, never by the app
HARNESS = {"ZAKOPS_TEST_POSTGRES_DSN", "ZAKOPS_REQUIRE_POSTGRES", "ZAKOPS_CHROMIUM"}


def app_variables() -> list[str]:
    return [
        n for n in os.environ if n.startswith("ZAKOPS_") and n not in HARNESS | {"ZAKOPS_ENV_FILE"}
    ]


for _name in app_variables():
    del os.environ[_name]
os.environ["ZAKOPS_ENV_FILE"] = ""
