"""The scenarios of the chaos suite, in the order they run (cheap and independent first)."""

from __future__ import annotations

from functools import partial

from chaos.runner import Scenario
from chaos.scenarios.hostile import hostile_inputs
from chaos.scenarios.kill import kill_under_load
from chaos.scenarios.memory import memory_under_slow_clients
from chaos.scenarios.outage import outage_under_load
from chaos.scenarios.poison import poisoned_projection
from chaos.scenarios.start import concurrent_start

SCENARIOS = [
    Scenario(1, "1 server SIGKILL x3", "sqlite", partial(kill_under_load, store="sqlite")),
    Scenario(1, "1 server SIGKILL x3", "postgres", partial(kill_under_load, store="postgres")),
    Scenario(2, "2 PostgreSQL stop / kill -9", "postgres", outage_under_load),
    Scenario(3, "3 hostile inputs", "sqlite", partial(hostile_inputs, store="sqlite")),
    Scenario(3, "3 hostile inputs", "postgres", partial(hostile_inputs, store="postgres")),
    Scenario(4, "4 slow SSE consumer / big values", "sqlite", memory_under_slow_clients),
    Scenario(5, "5 two servers started at once", "postgres", concurrent_start),
    Scenario(6, "6 poisoned legacy projection", "sqlite+pg", poisoned_projection),
]
