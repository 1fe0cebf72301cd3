"""Stored events rendered as envelopes (application/envelopes.py), upcast on the way."""

from __future__ import annotations

from datetime import UTC, datetime

from application.envelopes import INTERNAL, envelope_from_state

AT = datetime(2026, 2, 6, 10, 0, tzinfo=UTC)


def test_an_old_run_failed_is_upcast_and_marked_current() -> None:
    state = {
        "meta": {"event_id": "e-1", "session_id": "s", "run_id": "r", "schema_version": 1},
        "payload": {"message": "disk full"},
        "timestamp": AT.isoformat(),
    }
    envelope = envelope_from_state("run_failed", state, 7, 3)
    assert envelope.payload == {"error": "disk full"}
    assert envelope.schema_version == 2
    assert state["payload"] == {"message": "disk full"}  # the stored state is not changed
    assert (envelope.position, envelope.seq, envelope.timestamp) == (7, 3, AT)
    assert (envelope.session_id, envelope.run_id, envelope.source) == ("s", "r", "api")


def test_a_current_event_keeps_its_payload_and_metadata() -> None:
    later = datetime(2026, 3, 1, tzinfo=UTC)
    state = {
        "meta": {
            "event_id": "e-2",
            "schema_version": 2,
            "source": "agent",
            "correlation_id": "c",
            "causation_id": "k",
            "actor": "a",
        },
        "payload": {"error": "x", "message": "kept"},
        "timestamp": AT.isoformat(),
    }
    envelope = envelope_from_state("run_failed", state, None, None, timestamp=later)
    assert envelope.payload == {"error": "x", "message": "kept"}
    assert envelope.schema_version == 2
    assert envelope.timestamp == later
    assert (envelope.source, envelope.correlation_id, envelope.causation_id, envelope.actor) == (
        "agent",
        "c",
        "k",
        "a",
    )
    assert (envelope.type, envelope.event_id) == ("run_failed", "e-2")


def test_types_outside_the_registry_are_rendered_as_stored() -> None:
    state = {"meta": {"event_id": "e-3"}, "payload": {"n": 1}, "timestamp": AT.isoformat()}
    envelope = envelope_from_state("custom.note", state, 1, None)
    assert (envelope.payload, envelope.schema_version) == ({"n": 1}, 1)
    assert "archive.opened" in INTERNAL
