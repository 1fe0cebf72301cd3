"""The envelope's validation rules, one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.envelope import Envelope
from domain.errors import InvalidInput

VALID: dict[str, Any] = {
    "type": "run_started",
    "timestamp": "2026-02-06T10:00:00Z",
    "session_id": "sess-1",
    "run_id": "run-1",
    "seq": 101,
    "source": "session",
    "event_id": "9b2f1d8e-1111-4222-8333-444455556666",
    "payload": {"phase": "langgraph"},
}


def parse(**changes: Any) -> Envelope:
    data = {**VALID, **changes}
    return Envelope.parse({k: v for k, v in data.items() if v is not ...})


def test_the_seed_example_is_valid() -> None:
    envelope = parse()
    assert envelope.timestamp == datetime(2026, 2, 6, 10, tzinfo=UTC)
    assert envelope.payload == {"phase": "langgraph"}


@pytest.mark.parametrize("field", ["type", "timestamp", "event_id", "source", "payload"])
def test_required_fields(field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse(**{field: ...})
    assert error.value.field == field


def test_unknown_type_lists_valid_types() -> None:
    with pytest.raises(InvalidInput, match="valid types are") as error:
        parse(type="run_exploded")
    assert error.value.field == "type"
    assert "run_exploded" in str(error.value)
    assert "run_started" in str(error.value)  # a valid type, listed


def test_alias_is_stored_under_the_lifecycle_type() -> None:
    assert parse(type="agent.run_started").type == "run_started"


def test_run_scoped_type_needs_run_id() -> None:
    with pytest.raises(InvalidInput) as error:
        parse(run_id=None)
    assert error.value.field == "run_id"


def test_run_scoped_type_needs_a_session() -> None:
    with pytest.raises(InvalidInput) as error:
        parse(session_id=None, seq=None)
    assert error.value.field == "session_id"


def test_legacy_event_without_run_id_is_valid() -> None:
    envelope = parse(type="deal.created", run_id=None, payload={"deal_id": "DL-1", "name": "A"})
    assert envelope.run_id is None


def test_payload_as_json_string_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="not a string") as error:
        parse(payload='{"phase": "langgraph"}')
    assert error.value.field == "payload"


def test_payload_schema_is_checked() -> None:
    with pytest.raises(InvalidInput) as error:
        parse(type="agent.tool_called", payload={"tool_name": "x"})
    assert error.value.field == "payload.tool_call_id"


def test_naive_timestamp_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware") as error:
        parse(timestamp="2026-02-06T10:00:00")
    assert error.value.field == "timestamp"


def test_aware_timestamp_is_kept_in_utc() -> None:
    plus_two = datetime(2026, 2, 6, 12, tzinfo=timezone(timedelta(hours=2)))
    assert parse(timestamp=plus_two).timestamp == datetime(2026, 2, 6, 10, tzinfo=UTC)
    assert parse(timestamp=plus_two).timestamp.tzinfo == UTC


@pytest.mark.parametrize("seq", [0, -1])
def test_seq_must_be_positive(seq: int) -> None:
    with pytest.raises(InvalidInput) as error:
        parse(seq=seq)
    assert error.value.field == "seq"


def test_seq_needs_a_session() -> None:
    with pytest.raises(InvalidInput, match="per session"):
        parse(type="system.startup", session_id=None, run_id=None, payload={})


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        parse(sequence=3)
    assert error.value.field == "sequence"


def test_trusted_equals_model_construct_and_validation() -> None:
    values = parse().model_dump()
    trusted = Envelope.trusted(dict(values))
    assert trusted == Envelope.model_construct(**values)
    assert trusted == Envelope.model_validate(values)
    assert trusted.model_dump_json() == parse().model_dump_json()
    assert trusted.model_copy(update={"seq": 7}).seq == 7
    assert trusted.model_fields_set == set(Envelope.model_fields)
