"""The least Python a validated, typed event needs before its row reaches the database.

Per event: the payload validated by its type's pydantic model (with the store's text
checks), an event id, the envelope document serialised once, the row. No aggregate, no
event object, no answer: what is left of our write path when everything that makes it
event sourcing is taken away. Measured with the raw baseline's own inserts
(`built_batches`), it shows how much of a raw `executemany`'s speed any typed write path
in CPython can keep; our path and the bare library are compared with the same raw rate.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic_core import to_json

from adapters.system import UuidIds
from bench.raw import Row
from domain.taxonomy import resolve

TYPE = "custom.tick"
_IDS = UuidIds()


def typed_rows(session: str, first_seq: int, count: int) -> list[Row]:
    spec = resolve(TYPE)
    rows: list[Row] = []
    for offset in range(count):
        seq = first_seq + offset
        payload = spec.parse_payload({"i": seq})
        event_id, at = _IDS.new_id(), datetime.now(UTC)
        meta = {"event_id": event_id, "source": "api", "session_id": session, "run_id": None,
                "correlation_id": session, "causation_id": None, "actor": None,
                "schema_version": 1}  # fmt: skip
        state = to_json({"timestamp": at, "meta": meta, "payload": payload.model_dump()})
        rows.append((event_id, TYPE, at, session, seq, None, session, state))
    return rows
