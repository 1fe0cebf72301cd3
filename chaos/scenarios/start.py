"""5. Two `zakops serve` processes started at once on a fresh PostgreSQL database (with the
legacy projection's bookkeeping to create too), three rounds: both must come up ready and
take a write (issue 10 item 7: one died with "tuple concurrently updated")."""

from __future__ import annotations

import json
import subprocess

import httpx
from pydantic import SecretStr

from bench.http import HEADERS, launch, stop, wait_healthy
from chaos.report import ZERO, Bound, Figure, Scope
from chaos.workspace import Workspace
from entrypoints.settings import Settings
from tests.legacy import create_legacy_tables

ROUNDS = 3
PROCESSES = 2


def works(base: str, name: str) -> bool:
    """Ready, and a write goes through."""
    with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as client:
        ready = client.get("/readyz")
        event = {"type": "custom.started", "session_id": name, "payload": {}}
        written = client.post("/api/events", content=json.dumps(event))
    return ready.status_code == 200 and written.status_code == 201


def one_round(ws: Workspace, round_: int) -> list[str]:
    """The problems of one round (none: both processes came up and work)."""
    dsn = SecretStr(ws.database(f"start{round_}"))
    create_legacy_tables(dsn.get_secret_value())
    servers: list[tuple[subprocess.Popen[bytes], str]] = []
    for n in range(PROCESSES):
        settings = Settings(
            store="postgres",
            postgres_dsn=dsn,
            legacy_dsn=dsn,
            data_dir=ws.folder(f"start{round_}-{n}"),
            _env_file=None,
        )
        servers.append(launch(settings, log=ws.log(f"start{round_}-{n}")))
    problems: list[str] = []
    try:
        for n, (process, base) in enumerate(servers):
            try:
                wait_healthy(process, base)
            except (RuntimeError, TimeoutError) as error:
                problems.append(f"round {round_} process {n}: {error}")
                continue
            if not works(base, f"p{n}"):
                problems.append(f"round {round_} process {n}: not ready or refused a write")
    finally:
        for process, _ in servers:
            stop(process)
    return problems


def concurrent_start(ws: Workspace) -> list[Figure]:
    problems = [p for round_ in range(ROUNDS) for p in one_round(ws, round_)]
    figure = Scope("5 two servers started at once", "postgres")
    return [
        figure("rounds", ROUNDS),
        figure(
            "processes up and working",
            ROUNDS * PROCESSES - len(problems),
            Bound("==", ROUNDS * PROCESSES),
        ),
        figure("processes that failed", len(problems), ZERO, note="; ".join(problems)[:120]),
    ]
