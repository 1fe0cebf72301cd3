"""The scenarios of the chaos suite, in the order they run (cheap and independent first)."""

from __future__ import annotations

from functools import partial

from chaos.runner import Scenario
from chaos.scenarios.kill import kill_under_load

SCENARIOS = [
    Scenario(1, "1 server SIGKILL x3", "sqlite", partial(kill_under_load, store="sqlite")),
    Scenario(1, "1 server SIGKILL x3", "postgres", partial(kill_under_load, store="postgres")),
]
