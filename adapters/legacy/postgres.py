"""The legacy projection's PostgreSQL side: rows in `zakops.*`, bookkeeping in our schema.

The old tables are never altered. What we need beside them lives in our own schema
(`zakops_projection`): the tracking position and the registry of rows this projection
created, so a rebuild removes exactly those and older software's rows stay untouched.
Every batch (its rows, the foreign-key rows they need, the registry and the position) is
one transaction, serialised across processes by an advisory lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from adapters.legacy import mapping as m
from adapters.legacy.sql import (
    BOOKKEEPING_DDL,
    INSERT_ACTION,
    INSERT_AGENT_EVENT,
    INSERT_DEAL,
    INSERT_DEAL_EVENT,
    INSERT_RUN,
    INSERT_THREAD,
    SCHEMA,
    UPDATE_ACTION,
    UPDATE_DEAL,
    UPDATE_RUN,
    UPDATE_THREAD,
)
from application.legacy import LegacyItem, LegacyRecord
from application.ports import ProjectionConflict
from domain.envelope import Envelope

LOCK_KEY = 0x7A4B_0002


class PostgresLegacyView:
    name = "legacy"

    def __init__(self, dsn: str, pool_size: int = 3) -> None:
        self.pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=max(2, pool_size),
            kwargs={"autocommit": True},
            open=True,
            timeout=10,
        )

    def create_tables(self) -> None:
        with self.pool.connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            for statement in BOOKKEEPING_DDL:
                connection.execute(statement)

    def position(self) -> int:
        with self.pool.connection() as connection:
            row = connection.execute(
                f"SELECT position FROM {SCHEMA}.legacy_tracking WHERE name = %s", (self.name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def commit(self, items: Sequence[LegacyItem], position: int, expected: int) -> None:
        with self.pool.connection() as connection, connection.transaction():
            cur = connection.cursor()
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            cur.execute(
                f"SELECT position FROM {SCHEMA}.legacy_tracking WHERE name = %s", (self.name,)
            )
            found = cur.fetchone()
            current = int(found[0]) if found else 0
            if current != expected:
                raise ProjectionConflict(f"legacy tracking is at {current}, not {expected}")
            agent = [i for i in items if m.to_agent_table(i.envelope)]
            others = [i for i in items if not m.to_agent_table(i.envelope)]
            self._agent(cur, agent)
            self._deals(cur, others)
            cur.execute(
                f"INSERT INTO {SCHEMA}.legacy_tracking (name, position) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                (self.name, position),
            )

    # -- agent side ----------------------------------------------------------------------
    def _agent(self, cur: psycopg.Cursor[Any], items: list[LegacyItem]) -> None:
        if not items:
            return
        runs = sorted({i.envelope.run_id for i in items if i.envelope.run_id})
        cur.execute(
            "SELECT run_id, MAX(sequence_number) FROM zakops.agent_events "
            "WHERE run_id = ANY(%s) GROUP BY run_id",
            (runs,),
        )
        next_seq = {run: (last if last is not None else -1) + 1 for run, last in cur.fetchall()}
        for item in items:
            e = item.envelope
            run_id, thread = str(e.run_id), str(e.session_id)
            sequence = next_seq.get(run_id, 0)
            next_seq[run_id] = sequence + 1
            cur.execute(INSERT_THREAD, {"thread": thread, "ts": e.timestamp})
            cur.execute(UPDATE_THREAD, {"thread": thread, "ts": e.timestamp})
            agent = e.payload.get("agent") if e.type == "run_created" else None
            cur.execute(
                INSERT_RUN, {"run": run_id, "thread": thread, "ts": e.timestamp, "agent": agent}
            )
            cur.execute(UPDATE_RUN, self._run_change(e, sequence))
            cur.execute(
                INSERT_AGENT_EVENT,
                {
                    "event_id": e.event_id,
                    "thread": thread,
                    "run": run_id,
                    "type": m.agent_type(e.type),
                    "data": Jsonb(m.agent_data(e)),
                    "tool_call_id": e.payload.get("tool_call_id"),
                    "seq": sequence,
                    "ts": e.timestamp,
                    "correlation": m.as_uuid(e.correlation_id),
                    "causation": m.as_uuid(e.causation_id),
                },
            )

    @staticmethod
    def _run_change(e: Envelope, sequence: int) -> dict[str, Any]:
        finished = e.type in {"run_completed", "run_failed", "run_cancelled"}
        output = e.payload.get("output") if e.type == "run_completed" else None
        return {
            "run": e.run_id,
            "status": m.RUN_STATUS.get(e.type),
            "ts": e.timestamp,
            "started": e.type == "run_started",
            "finished": finished,
            "error": e.payload.get("error") if e.type == "run_failed" else None,
            "error_code": e.payload.get("error_code") if e.type == "run_failed" else None,
            "output": None if output is None else str(output),
            "event_id": e.event_id,
            "stream": sequence + 1,
        }

    # -- deal side -----------------------------------------------------------------------
    def _deals(self, cur: psycopg.Cursor[Any], items: list[LegacyItem]) -> None:
        if not items:
            return
        deal_ids = sorted(
            {str(i.envelope.payload["deal_id"]) for i in items if i.envelope.payload.get("deal_id")}
        )
        cur.execute("SELECT deal_id FROM zakops.deals WHERE deal_id = ANY(%s)", (deal_ids,))
        deals = {row[0] for row in cur.fetchall()}
        action_ids = sorted(
            {str(i.envelope.payload["action_id"]) for i in items if i.aggregate == "action"}
        )
        cur.execute(
            "SELECT action_id, deal_id FROM zakops.actions WHERE action_id = ANY(%s)", (action_ids,)
        )
        action_deal: dict[str, str | None] = dict(cur.fetchall())
        for item in items:
            e = item.envelope
            deal_id = self._business_rows(cur, item, deals, action_deal)
            actor_id, actor_type = m.actor_parts(e.actor)
            cur.execute(
                INSERT_DEAL_EVENT,
                {
                    "id": m.row_uuid(e.event_id),
                    "deal": deal_id,
                    "type": e.type,
                    "source": e.source,
                    "actor": e.actor,
                    "payload": Jsonb(m.deal_payload(e)),
                    "ts": e.timestamp,
                    "key": e.event_id[:64],
                    "actor_id": actor_id,
                    "actor_type": actor_type,
                    "causation": (e.causation_id or None),
                    "version": item.version,
                    "aggregate_type": item.aggregate,
                    "aggregate_id": item.aggregate_id,
                    "schema": f"{e.schema_version}.0.0",
                    "correlation": e.correlation_id,
                },
            )

    def _business_rows(
        self,
        cur: psycopg.Cursor[Any],
        item: LegacyItem,
        deals: set[str],
        action_deal: dict[str, str | None],
    ) -> str | None:
        """Maintain `deals` and `actions`; return the deal_id the event row may name."""
        e, p = item.envelope, item.envelope.payload
        if item.aggregate == "deal":
            deal_id = str(p["deal_id"])
            if e.type == "deal.created":
                cur.execute(
                    INSERT_DEAL,
                    {
                        "deal": deal_id,
                        "name": p.get("name"),
                        "display": p.get("display_name"),
                        "stage": p.get("stage", "inbound"),
                        "ts": e.timestamp,
                    },
                )
                deals.add(deal_id)
            else:
                stage = "archived" if e.type == "deal.archived" else p.get("to_stage")
                cur.execute(
                    UPDATE_DEAL,
                    {
                        "deal": deal_id,
                        "stage": stage,
                        "name": p.get("name"),
                        "display": p.get("display_name"),
                        "profile": Jsonb(p.get("profile") or {}),
                        "ts": e.timestamp,
                    },
                )
            return deal_id if deal_id in deals else None
        if item.aggregate == "action":
            action_id = str(p["action_id"])
            if e.type == "action.created":
                deal = p.get("deal_id") if p.get("deal_id") in deals else None
                actor_id, actor_type = m.actor_parts(e.actor)
                cur.execute(
                    INSERT_ACTION,
                    {
                        "action": action_id,
                        "deal": deal,
                        "correlation": m.as_uuid(e.correlation_id),
                        "type": p.get("action_type"),
                        "title": p.get("title"),
                        "ts": e.timestamp,
                        "approval": bool(p.get("requires_approval", True)),
                        "key": e.event_id[:64],
                        "initiator_type": actor_type,
                        "initiator_id": actor_id,
                    },
                )
                action_deal[action_id] = deal
            else:
                cur.execute(UPDATE_ACTION, self._action_change(e, action_id))
            return action_deal.get(action_id)
        return None

    @staticmethod
    def _action_change(e: Envelope, action_id: str) -> dict[str, Any]:
        p = e.payload
        approval = [{"by": p.get("approved_by"), "at": e.timestamp.isoformat()}]
        return {
            "action": action_id,
            "status": m.ACTION_STATUS.get(e.type),
            "ts": e.timestamp,
            "approved": e.type == "action.approved",
            "approval": Jsonb(approval),
            "reviewer": (p.get("approved_by") or p.get("rejected_by")),
            "rejected": e.type == "action.rejected",
            "reason": p.get("reason"),
            "executing": e.type == "action.executing",
            "completed": e.type == "action.completed",
            "result": Jsonb(p.get("result") or {}),
            "error": p.get("error"),
        }

    # -- rebuild and import --------------------------------------------------------------
    def reset(self) -> None:
        with self.pool.connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            connection.execute(
                f"DELETE FROM zakops.agent_events e USING {SCHEMA}.legacy_rows r "
                "WHERE r.table_name = 'agent_events' AND r.row_key = e.event_id"
            )
            connection.execute(
                f"DELETE FROM zakops.deal_events e USING {SCHEMA}.legacy_rows r "
                "WHERE r.table_name = 'deal_events' AND r.row_key = e.id::text"
            )
            connection.execute(
                f"DELETE FROM {SCHEMA}.legacy_rows "
                "WHERE table_name IN ('agent_events', 'deal_events')"
            )
            connection.execute(
                f"DELETE FROM {SCHEMA}.legacy_tracking WHERE name = %s", (self.name,)
            )

    def foreign_history(self) -> Iterator[LegacyRecord]:
        """Rows older software wrote (not in our registry), oldest first."""
        with self.pool.connection() as connection:
            cur = connection.cursor(row_factory=dict_row)
            cur.execute(
                "SELECT e.* FROM zakops.agent_events e WHERE NOT EXISTS (SELECT 1 FROM "
                f"{SCHEMA}.legacy_rows r WHERE r.table_name = 'agent_events' "
                "AND r.row_key = e.event_id) ORDER BY e.created_at, e.id"
            )
            agent_rows = cur.fetchall()
            cur.execute(
                "SELECT e.* FROM zakops.deal_events e WHERE NOT EXISTS (SELECT 1 FROM "
                f"{SCHEMA}.legacy_rows r WHERE r.table_name = 'deal_events' "
                "AND r.row_key = e.id::text) ORDER BY e.created_at, e.sequence_number"
            )
            deal_rows = cur.fetchall()
        for row in agent_rows:
            yield _agent_record(row)
        for row in deal_rows:
            yield _deal_record(row)

    def close(self) -> None:
        self.pool.close()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _agent_record(row: dict[str, Any]) -> LegacyRecord:
    data = dict(row["event_data"] or {})
    if row.get("tool_call_id"):
        data.setdefault("tool_call_id", row["tool_call_id"])
    data["legacy"] = {
        "table": "agent_events",
        "id": row["id"],
        "event_type": row["event_type"],
        "sequence_number": row["sequence_number"],
    }
    return LegacyRecord(
        event_id=m.imported_id("agent", row["event_id"]),
        archive=f"agent:{row['thread_id']}",
        type=m.imported_agent_type(row["event_type"], data),
        occurred_at=row["created_at"],
        payload=data,
        session_id=row["thread_id"],
        run_id=row["run_id"],
        correlation_id=_text(row["correlation_id"]),
        causation_id=_text(row["causation_id"]),
    )


def _deal_record(row: dict[str, Any]) -> LegacyRecord:
    payload = dict(row["payload"] or {})
    payload["legacy"] = {
        "table": "deal_events",
        "id": str(row["id"]),
        "event_source": row["event_source"],
        "deal_id": row["deal_id"],
    }
    return LegacyRecord(
        event_id=m.imported_id("deal", str(row["id"])),
        archive=f"deal:{row['deal_id'] or '-'}",
        type=m.imported_deal_type(row["event_type"]),
        occurred_at=row["created_at"],
        payload=payload,
        correlation_id=(row["correlation_id"] or row["deal_id"]),
        causation_id=row["causation_id"],
        actor=row["actor"],
    )
