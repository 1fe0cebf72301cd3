"""2. PostgreSQL stopped (`pg_ctl stop -m fast`, then start) and its postmaster killed with
SIGKILL (then start), under load, on the run's own cluster. Clients keep at every request
until acknowledged; 503 with `Retry-After` is the expected answer while the database is away.
"Back within" runs from the database accepting connections again to the first 201."""

from __future__ import annotations

import asyncio
import subprocess
import time

from chaos.ledger import account
from chaos.load import Load, answers
from chaos.report import ZERO, Bound, Figure, Scope
from chaos.server import Restartable
from chaos.workspace import Workspace
from tests.pgcluster import Cluster

BACK_WITHIN_S = 5.0
FAIL_FAST_S = 8.0  # a request waits for a pooled connection a few seconds, then 503


def start_again(cluster: Cluster, timeout: float = 30) -> float:
    """Start the cluster (after a kill -9 the old backends may hold its shared memory for a
    moment, so retry); the time.monotonic() at which it accepts connections."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            cluster.start()  # pg_ctl -w: returns once the server accepts connections
            return time.monotonic()
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def outage_under_load(ws: Workspace) -> list[Figure]:
    cluster = ws.cluster()
    server = Restartable(ws.settings("postgres", "outage"), ws.log("outage"))
    calm, away = ws.pick(1.5, 4.0), ws.pick(2.0, 5.0)  # seconds of load, of outage
    returns: dict[str, float] = {}
    with server:
        load = Load(server.base, clients=ws.pick(6, 12), tag="outage")

        async def chaos() -> None:
            for name, fault in (("stop -m fast", cluster.stop), ("kill -9", cluster.kill)):
                await asyncio.sleep(calm)
                await asyncio.to_thread(fault)
                await asyncio.sleep(away)
                returns[name] = await asyncio.to_thread(start_again, cluster)
                await asyncio.sleep(calm)

        try:
            tally = load.run(chaos)
        finally:
            if not cluster.running():  # the scenarios after this one need it
                start_again(cluster)
        result = account(server.base, load.sessions, tally.acknowledged)
    figure = Scope("2 PostgreSQL stop / kill -9", "postgres")
    back = [
        figure(f"back within, {name}", _back(tally.first_acknowledgment_after(at)), BACK, " s")
        for name, at in returns.items()
    ]
    return [
        figure("acknowledged events", result.acknowledged, Bound(">=", 1)),
        figure("lost", result.lost, ZERO),
        figure("duplicated", result.duplicated, ZERO),
        figure("seq gaps", result.gaps, ZERO),
        *back,
        figure("503 without Retry-After", tally.unavailable_without_retry_after, ZERO),
        figure("slowest answer", round(tally.slowest, 2), Bound("<=", FAIL_FAST_S), " s"),
        *answers(figure, tally),
    ]


BACK = Bound("<=", BACK_WITHIN_S)


def _back(seconds: float | None) -> float:
    return float("inf") if seconds is None else round(seconds, 2)
