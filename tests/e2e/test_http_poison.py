"""Text no store can hold (NUL, lone UTF-16 surrogates) sent as JSON escapes: a 422 problem
naming the field, nothing stored, and the next write goes through."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import R, W, total

JSON = {**W, "content-type": "application/json"}
NUL, SURROGATE, LOW_SURROGATE = "\x00", "\ud800", "\udc80"


def raw(body: Any) -> bytes:
    """The body as JSON with `\\u0000` / `\\ud800` escapes (ASCII, so it encodes)."""
    return json.dumps(body, ensure_ascii=True).encode()


def valid(session_id: str = "s-ok", **extra: Any) -> dict[str, Any]:
    return {"type": "custom.x", "payload": {"ok": True}, "session_id": session_id, **extra}


def escaped(key: str) -> str:
    return key.replace(NUL, "\\u0000").replace(SURROGATE, "\\ud800")


POISONED: list[tuple[str, dict[str, Any], str]] = [
    ("NUL session_id", valid(f"s{NUL}1"), "session_id"),
    ("NUL actor", valid(actor=f"bot{NUL}"), "actor"),
    ("NUL payload value", valid(payload={"a": f"x{NUL}y"}), "payload.a"),
    ("NUL nested payload value", valid(payload={"a": {"b": ["ok", NUL]}}), "payload.a.b.1"),
    ("NUL payload key", valid(payload={f"a{NUL}b": 1}), escaped(f"payload.a{NUL}b")),
    ("NUL event_id", valid(event_id=f"e{NUL}"), "event_id"),
    ("NUL correlation_id", valid(correlation_id=f"c{NUL}"), "correlation_id"),
    ("NUL causation_id", valid(causation_id=f"c{NUL}"), "causation_id"),
    ("NUL source", valid(source=f"src{NUL}"), "source"),
    ("NUL type", valid(type=f"custom.x{NUL}"), "type"),
    (
        "NUL run_id",
        {"type": "agent.thinking", "payload": {}, "run_id": f"r{NUL}", "session_id": "s-ok"},
        "run_id",
    ),
    ("surrogate session_id", valid(f"s{SURROGATE}"), "session_id"),
    ("surrogate actor", valid(actor=SURROGATE), "actor"),
    ("surrogate payload value", valid(payload={"a": f"x{SURROGATE}"}), "payload.a"),
    ("low surrogate payload value", valid(payload={"a": LOW_SURROGATE}), "payload.a"),
    ("surrogate payload key", valid(payload={SURROGATE: 1}), escaped(f"payload.{SURROGATE}")),
    ("surrogate in a list", valid(payload={"a": [1, {"b": SURROGATE}]}), "payload.a.1.b"),
    ("surrogate event_id", valid(event_id=SURROGATE), "event_id"),
]


def assert_refused(response: Any, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = json.loads(response.content.decode("utf-8"))
    assert problem["status"] == 422
    assert problem["field"] == field or problem["field"].endswith(f".{field}"), problem
    assert problem["reason"]
    return problem


def assert_next_write_goes_through(client: TestClient) -> None:
    before = total(client)
    created = client.post("/api/events", json=valid("s-next"), headers=W)
    assert created.status_code == 201, created.text
    assert total(client) == before + 1
    events = client.get("/api/sessions/s-next/events", headers=R).json()["events"]
    assert events[-1] == created.json()


@pytest.mark.parametrize(
    ("body", "field"), [pytest.param(b, f, id=name) for name, b, f in POISONED]
)
def test_a_poisoned_event_is_refused_and_nothing_is_stored(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    client.post("/api/events", json=valid(), headers=W)
    before = total(client)
    response = client.post("/api/events", content=raw(body), headers=JSON)
    problem = assert_refused(response, field)
    assert problem["field"] == field
    assert total(client) == before
    assert len(client.get("/api/sessions/s-ok/events", headers=R).json()["events"]) == 1
    assert_next_write_goes_through(client)


IN_BATCHES = {
    "NUL session_id",
    "NUL payload key",
    "NUL run_id",
    "surrogate actor",
    "surrogate payload value",
}


@pytest.mark.parametrize(
    ("poisoned", "field"),
    [pytest.param(b, f, id=name) for name, b, f in POISONED if name in IN_BATCHES],
)
def test_a_batch_with_one_poisoned_event_stores_none_of_it(
    client: TestClient, poisoned: dict[str, Any], field: str
) -> None:
    before = total(client)
    batch = {"events": [valid("s-b1"), valid("s-b2", payload={"n": 2}), poisoned, valid("s-b1")]}
    response = client.post("/api/events", content=raw(batch), headers=JSON)
    assert_refused(response, field)
    assert total(client) == before
    for session in ("s-b1", "s-b2", "s-ok"):
        assert client.get(f"/api/sessions/{session}/events", headers=R).json()["events"] == []
    assert_next_write_goes_through(client)


def test_a_poisoned_batch_then_the_clean_batch(client: TestClient) -> None:
    clean = [valid("s-b1", event_id="b-1"), valid("s-b2", event_id="b-2")]
    poisoned = {"events": [*clean, valid("s-b1", payload={"x": SURROGATE})]}
    assert client.post("/api/events", content=raw(poisoned), headers=JSON).status_code == 422
    assert total(client) == 0
    created = client.post("/api/events", json={"events": clean}, headers=W)
    assert created.status_code == 201, created.text
    assert [e["seq"] for e in created.json()["events"]] == [1, 1]
    assert total(client) == 2


READS = [
    "/api/sessions/{}/events",
    "/api/runs/{}/events",
    "/api/events/by-run/{}",
    "/api/events/by-correlation/{}",
    "/api/events/{}",
    "/api/runs/{}",
]


def test_reads_for_a_nul_key_are_not_server_errors(client: TestClient) -> None:
    """No event can hold a NUL, so a read for one finds nothing (or is refused); it must not
    reach the store as a value it cannot take."""
    client.post("/api/events", json=valid(), headers=W)
    failures = []
    for path in READS:
        response = client.get(path.format("a%00b"), headers=R)
        if response.status_code not in {200, 404, 422}:
            failures.append((path, response.status_code))
        elif response.status_code == 200 and response.json()["events"] != []:
            failures.append((path, response.text))
    assert not failures, failures


TYPED: list[tuple[str, str, dict[str, Any], str]] = [
    ("run NUL run_id", "/api/sessions/s-ok/runs", {"run_id": f"r{NUL}"}, "run_id"),
    (
        "run surrogate input",
        "/api/sessions/s-ok/runs",
        {"run_id": "r-2", "input": SURROGATE},
        "payload.input",
    ),
    ("thinking NUL content", "/api/runs/r-1/thinking", {"content": f"a{NUL}"}, "payload.content"),
    ("thinking surrogate actor", "/api/runs/r-1/thinking", {"actor": SURROGATE}, "actor"),
    ("deal NUL name", "/api/deals", {"deal_id": "D-1", "name": f"A{NUL}"}, "payload.name"),
    ("deal surrogate deal_id", "/api/deals", {"deal_id": SURROGATE, "name": "A"}, "deal_id"),
]


@pytest.mark.parametrize(
    ("path", "body", "field"), [pytest.param(p, b, f, id=name) for name, p, b, f in TYPED]
)
def test_typed_commands_refuse_poison_too(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    assert client.post("/api/sessions/s-ok/runs", json={"run_id": "r-1"}, headers=W).is_success
    assert client.post("/api/runs/r-1/start", json={}, headers=W).is_success
    before = total(client)
    assert_refused(client.post(path, content=raw(body), headers=JSON), field)
    assert total(client) == before
    thought = client.post("/api/runs/r-1/thinking", json={"content": "after"}, headers=W)
    assert thought.status_code == 201, thought.text
    assert [e["seq"] for e in thought.json()["events"]] == [3]
