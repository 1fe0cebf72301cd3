"""6. The legacy projection fed each poison class of issue 10 item 1, behind a real server.

Events the legacy tables cannot hold (written past today's edge, as a store of an older
release may hold them: tests/integration/test_legacy_poison.py) are parked while every other
event lands; `/readyz` says degraded; after the fix (wider columns), `zakops projections retry
legacy` writes them. A NUL in a payload can never go into PostgreSQL text: it stays parked,
counted. The classes the legacy contract bounds but the API accepts (a display name or title
over 255, a tool_call_id over 64 or an object) are sent through the HTTP API and must land."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.http import HEADERS, server_env
from chaos.report import Bound, Figure, Scope
from chaos.server import Restartable
from chaos.workspace import Workspace
from entrypoints.container import build, close, init_db
from entrypoints.settings import Settings
from tests.integration.test_legacy import drive_deal, drive_run
from tests.integration.test_legacy_poison import POISONS, Poison
from tests.legacy import create_legacy_tables


@dataclass(frozen=True)
class Outcome:
    """One poison class in a store of its own (their writers share aggregate ids)."""

    events: int
    parked: int
    landed: int  # before the retry
    degraded: int  # 1 when /readyz said degraded while the event was parked
    written: int  # by the retry after the fix
    still_parked: int
    landed_after: int


def write_past_the_edge(settings: Settings, poison: Poison) -> int:
    """Good events around the poisoned one, straight into the store; how many events."""
    app = build(settings)
    try:
        init_db(app)
        drive_run(app)
        poison.write(app)
        drive_deal(app)
        return app.store().head()
    finally:
        close(app)


def send_bounded_values(base: str) -> int:
    """Values over a legacy column's bound, through the API; how many events they make."""
    long_text = "t" * 300
    run = {"session_id": "s-wide", "run_id": "r-wide"}
    requests: list[tuple[str, dict[str, Any]]] = [
        ("/api/deals", {"deal_id": "DL-wide", "name": "Acme", "display_name": long_text}),
        ("/api/actions", {"action_id": "A-wide", "action_type": "email", "title": long_text}),
        ("/api/events", {"type": "run_created", "payload": {}, **run}),
        ("/api/events", {"type": "run_started", "payload": {}, **run}),
    ]
    for tool_call_id in ("c" * 65, {"nested": "object"}):
        payload = {"content": "x", "tool_call_id": tool_call_id}
        requests.append(("/api/events", {"type": "agent.thinking", "payload": payload, **run}))
    with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as client:
        for path, body in requests:
            response = client.post(path, content=json.dumps(body))
            if response.status_code != 201:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
    return len(requests)


def caught_up(base: str, head: int, timeout: float = 30) -> dict[str, Any]:
    """/readyz once the legacy projection has reached `head`."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = httpx.get(f"{base}/readyz", timeout=10).json()
        if body.get("projections", {}).get("legacy", {}).get("position") == head:
            return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"the legacy projection did not reach {head}: {body}")
        time.sleep(0.2)


def landed(dsn: str) -> int:
    with psycopg.connect(dsn) as connection:
        agent = connection.execute("SELECT count(*) FROM zakops.agent_events").fetchone()
        deal = connection.execute("SELECT count(*) FROM zakops.deal_events").fetchone()
    assert agent is not None
    assert deal is not None
    return int(agent[0]) + int(deal[0])


def fix_and_retry(dsn: str, poison: Poison, settings: Settings, port: int) -> dict[str, int]:
    """Widen the column, then `zakops projections retry legacy --json`; its outcome."""
    if poison.fix is not None:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(poison.fix.encode())  # SQL of the test's own, not a literal
    zakops = str(Path(sys.executable).with_name("zakops"))
    done = subprocess.run(
        [zakops, "projections", "retry", "legacy", "--json"],
        env=server_env(settings, port),
        cwd=settings.data_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode not in (0, 1):  # 1: some are still parked
        raise RuntimeError(f"retry exited {done.returncode}: {done.stderr[-300:]}")
    outcome: dict[str, int] = json.loads(done.stdout)
    return outcome


def one_class(ws: Workspace, name: str, poison: Poison) -> Outcome:
    legacy_dsn = ws.database("legacy")
    create_legacy_tables(legacy_dsn)
    settings = ws.settings("sqlite", "poison", legacy_dsn=legacy_dsn)
    head = write_past_the_edge(settings, poison)
    with Restartable(settings, ws.log(f"poison-{name}")) as server:
        head += send_bounded_values(server.base)
        ready = caught_up(server.base, head)
        landed_before = landed(legacy_dsn)
        outcome = fix_and_retry(legacy_dsn, poison, settings, server.port)
    return Outcome(
        events=head,
        parked=int(ready["projections"]["legacy"]["parked"]),
        landed=landed_before,
        degraded=int(ready["status"] == "degraded"),
        written=outcome["written"],
        still_parked=outcome["still_parked"],
        landed_after=landed(legacy_dsn),
    )


def poisoned_projection(ws: Workspace) -> list[Figure]:
    outcomes = [one_class(ws, name.replace(" ", "-"), p) for name, p in POISONS.items()]
    classes, unfixable = len(POISONS), sum(1 for p in POISONS.values() if p.fix is None)
    fixable = classes - unfixable
    events = sum(o.events for o in outcomes)
    figure = Scope("6 poisoned legacy projection", "sqlite+pg")

    def total(measure: str, value: int, target: int, note: str = "") -> Figure:
        return figure(measure, value, Bound("==", target), note=note)

    return [
        figure("poison classes", classes, note=", ".join(POISONS)),
        figure("events, all classes", events, note="each class in a store of its own"),
        total("parked", sum(o.parked for o in outcomes), classes),
        total("landed (all the others)", sum(o.landed for o in outcomes), events - classes),
        total("/readyz degraded while parked", sum(o.degraded for o in outcomes), classes),
        total("written by retry after the fix", sum(o.written for o in outcomes), fixable),
        total("still parked (NUL: no fix)", sum(o.still_parked for o in outcomes), unfixable),
        total("landed after retry", sum(o.landed_after for o in outcomes), events - unfixable),
    ]
