"""From stored domain events to envelopes (the wire format)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.envelope import Envelope
from domain.model import ZakopsAggregate


def envelope_of(event: Any, position: int | None, seq: int | None = None) -> Envelope:
    """The envelope of one of our domain events. Events were validated when they were
    made, so the envelope is built without validating again (this is the hot path)."""
    assert isinstance(event, ZakopsAggregate.Event), type(event)
    meta = event.meta
    return Envelope.trusted(
        {
            "type": event.event_type,
            "timestamp": event.timestamp,
            "session_id": meta.session_id,
            "seq": seq,
            "run_id": meta.run_id,
            "event_id": meta.event_id,
            "source": meta.source,
            "position": position,
            "correlation_id": meta.correlation_id,
            "causation_id": meta.causation_id,
            "actor": meta.actor,
            "schema_version": meta.schema_version,
            "payload": event.payload.model_dump(mode="json"),
        }
    )


def with_seq(envelope: Envelope, seq: int | None) -> Envelope:
    return Envelope.trusted({**envelope.__dict__, "seq": seq})


def number_rows(rows: Sequence[Envelope], last_seqs: dict[str, int]) -> list[Envelope]:
    """Give each row with a session the next dense `seq` of that session, in order.

    `last_seqs` holds the last seq of every session in the batch (0 when new); it is
    updated in place so the caller can keep it.
    """
    numbered: list[Envelope] = []
    for row in rows:
        if row.session_id is None:
            numbered.append(row)
            continue
        seq = last_seqs.get(row.session_id, 0) + 1
        last_seqs[row.session_id] = seq
        numbered.append(with_seq(row, seq))
    return numbered


def sessions_of(rows: Sequence[Envelope]) -> set[str]:
    return {row.session_id for row in rows if row.session_id is not None}
