"""The rows one batch of events writes into the legacy tables, inside the caller's transaction.

Columns the legacy tables bound get a bounded value when the event's value is longer (the
full value stays in `event_data` / `payload`), see `mapping.py` and architecture.md. A
parked event written again later (`replay`) is applied as the newest row of its run or
stream, but it never moves current-state rows (run status, deal stage, action status) back
when a later event of the same aggregate has already landed.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from adapters.legacy import mapping as m
from adapters.legacy.sql import (
    INSERT_ACTION,
    INSERT_AGENT_EVENT,
    INSERT_DEAL,
    INSERT_DEAL_EVENT,
    INSERT_RUN,
    INSERT_THREAD,
    LATER_AGENT_EVENT,
    LATER_DEAL_EVENT,
    UPDATE_ACTION,
    UPDATE_DEAL,
    UPDATE_RUN,
    UPDATE_THREAD,
)
from application.legacy import LegacyItem
from domain.envelope import Envelope


class LegacyRows:
    def __init__(self, cur: psycopg.Cursor[Any], replay: bool = False) -> None:
        self.cur = cur
        self.replay = replay

    def _current(self, sql: str, params: tuple[Any, ...]) -> bool:
        """Whether this event may change current-state rows: always, except when it is
        replayed after a later event of its aggregate has landed."""
        if not self.replay:
            return True
        return self.cur.execute(sql, params).fetchone() is None

    # -- agent side ----------------------------------------------------------------------
    def agent_events(self, items: list[LegacyItem]) -> None:
        if not items:
            return
        cur = self.cur
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
            try:
                self._agent_event(e, run_id, thread, sequence)
            except Exception as error:
                error.add_note(f"event {e.event_id} ({e.type}) at position {e.position}")
                raise
            next_seq[run_id] = sequence + 1

    def _agent_event(self, e: Envelope, run_id: str, thread: str, sequence: int) -> None:
        cur = self.cur
        current = self._current(LATER_AGENT_EVENT, (run_id, e.position))
        cur.execute(INSERT_THREAD, {"thread": thread, "ts": e.timestamp})
        cur.execute(UPDATE_THREAD, {"thread": thread, "ts": e.timestamp})
        agent = e.payload.get("agent") if e.type == "run_created" else None
        cur.execute(
            INSERT_RUN, {"run": run_id, "thread": thread, "ts": e.timestamp, "agent": agent}
        )
        cur.execute(UPDATE_RUN, self._run_change(e, sequence, agent, current))
        cur.execute(
            INSERT_AGENT_EVENT,
            {
                "event_id": e.event_id,
                "thread": thread,
                "run": run_id,
                "type": m.agent_type(e.type),
                "data": Jsonb(m.agent_data(e)),
                "tool_call_id": m.tool_call_column(e.payload),
                "seq": sequence,
                "ts": e.timestamp,
                "correlation": m.as_uuid(e.correlation_id),
                "causation": m.as_uuid(e.causation_id),
            },
        )

    @staticmethod
    def _run_change(e: Envelope, sequence: int, agent: Any, current: bool) -> dict[str, Any]:
        finished = current and e.type in {"run_completed", "run_failed", "run_cancelled"}
        output = e.payload.get("output") if e.type == "run_completed" else None
        return {
            "run": e.run_id,
            "status": m.RUN_STATUS.get(e.type) if current else None,
            "ts": e.timestamp,
            "started": current and e.type == "run_started",
            "finished": finished,
            "agent": agent,
            "error": e.payload.get("error") if e.type == "run_failed" else None,
            "error_code": e.payload.get("error_code") if e.type == "run_failed" else None,
            "output": None if output is None else str(output),
            "event_id": e.event_id,
            "stream": sequence + 1,
        }

    # -- deal side -----------------------------------------------------------------------
    def deal_events(self, items: list[LegacyItem]) -> None:
        if not items:
            return
        cur = self.cur
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
            try:
                self._deal_event(item, deals, action_deal)
            except Exception as error:
                e = item.envelope
                error.add_note(f"event {e.event_id} ({e.type}) at position {e.position}")
                raise

    def _deal_event(
        self, item: LegacyItem, deals: set[str], action_deal: dict[str, str | None]
    ) -> None:
        e = item.envelope
        current = self._current(LATER_DEAL_EVENT, (item.aggregate, item.aggregate_id, item.version))
        deal_id = self._business_rows(item, deals, action_deal, current)
        actor_id, actor_type = m.actor_parts(e.actor)
        self.cur.execute(
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
        item: LegacyItem,
        deals: set[str],
        action_deal: dict[str, str | None],
        current: bool,
    ) -> str | None:
        """Maintain `deals` and `actions`; return the deal_id the event row may name."""
        e, p = item.envelope, item.envelope.payload
        if item.aggregate == "deal":
            deal_id = str(p["deal_id"])
            if e.type == "deal.created":
                self.cur.execute(
                    INSERT_DEAL,
                    {
                        "deal": deal_id,
                        "name": p.get("name"),
                        "display": m.bounded(p.get("display_name"), m.DISPLAY_NAME),
                        "stage": p.get("stage", "inbound"),
                        "ts": e.timestamp,
                    },
                )
                deals.add(deal_id)
            elif current:
                stage = "archived" if e.type == "deal.archived" else p.get("to_stage")
                self.cur.execute(
                    UPDATE_DEAL,
                    {
                        "deal": deal_id,
                        "stage": stage,
                        "name": p.get("name"),
                        "display": m.bounded(p.get("display_name"), m.DISPLAY_NAME),
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
                self.cur.execute(
                    INSERT_ACTION,
                    {
                        "action": action_id,
                        "deal": deal,
                        "correlation": m.as_uuid(e.correlation_id),
                        "type": p.get("action_type"),
                        "title": m.bounded(p.get("title"), m.ACTION_TITLE),
                        "ts": e.timestamp,
                        "approval": bool(p.get("requires_approval", True)),
                        "key": e.event_id[:64],
                        "initiator_type": actor_type,
                        "initiator_id": actor_id,
                    },
                )
                action_deal[action_id] = deal
            elif current:
                self.cur.execute(UPDATE_ACTION, self._action_change(e, action_id))
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
