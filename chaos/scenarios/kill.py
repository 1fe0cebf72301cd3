"""1. The server SIGKILLed under load, three times: clients post with ids of their own and
retry what was not acknowledged, with the same ids, once the server is back."""

from __future__ import annotations

import asyncio
import random

from chaos.ledger import account
from chaos.load import Load, answers
from chaos.report import ZERO, Bound, Figure, Scope
from chaos.server import Restartable
from chaos.workspace import Store, Workspace

KILLS = 3


def kill_under_load(ws: Workspace, store: Store) -> list[Figure]:
    name = f"kill-{store}"
    server = Restartable(ws.settings(store, name), ws.log(name))
    between = ws.pick(1.5, 5.0)  # seconds of load before each kill, and after the last
    with server:
        load = Load(server.base, clients=ws.pick(6, 12), tag=name)

        async def chaos() -> None:
            for _ in range(KILLS):
                await asyncio.sleep(between * random.uniform(0.6, 1.4))
                server.kill()
                await asyncio.to_thread(server.start)
            await asyncio.sleep(between)

        tally = load.run(chaos)
        result = account(server.base, load.sessions, tally.acknowledged)
    figure = Scope("1 server SIGKILL x3", store)
    return [
        figure("acknowledged events", result.acknowledged, Bound(">=", 1)),
        figure("lost", result.lost, ZERO),
        figure("duplicated", result.duplicated, ZERO),
        figure("seq gaps", result.gaps, ZERO),
        *answers(figure, tally),
    ]
