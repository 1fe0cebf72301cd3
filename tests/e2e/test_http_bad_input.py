"""Bad input gets a 4xx problem and writes nothing; odd strings are stored verbatim."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import R, W, total

BAD_EMITS: list[tuple[Any, int, str]] = [
    ({"type": "run_exploded", "payload": {}}, 422, "type"),
    ({"type": "custom.x", "payload": '{"a": 1}', "session_id": "s"}, 422, "payload"),
    ({"type": "custom.x", "payload": [1, 2], "session_id": "s"}, 422, "payload"),
    ({"type": "agent.thinking", "payload": {}}, 422, "run_id"),
    ({"type": "run_created", "payload": {}, "run_id": "r"}, 422, "session_id"),
    (
        {"type": "agent.tool_called", "payload": {"tool_name": "x"}, "run_id": "r"},
        422,
        "payload.tool_call_id",
    ),
    ({"type": "custom.x", "payload": {}, "seq": 4}, 422, "seq"),
    ({"type": "custom.x"}, 422, "payload"),
    ({"payload": {}}, 422, "type"),
    ({"events": []}, 422, "events"),
    ("just a string", 422, "body"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD_EMITS)
def test_each_validation_rule(client: TestClient, body: Any, status: int, field: str) -> None:
    before = total(client)
    response = client.post("/api/events", json=body, headers=W)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["field"] == field
    assert problem["reason"]
    assert total(client) == before


def test_unknown_type_lists_valid_types(client: TestClient) -> None:
    problem = client.post("/api/events", json={"type": "nope", "payload": {}}, headers=W).json()
    assert "run_started" in problem["valid_types"]
    assert "agent.run_failed" in problem["valid_types"]


def test_malformed_json_wrong_content_type_and_huge_body(client: TestClient) -> None:
    before = total(client)
    headers = {**W, "content-type": "application/json"}
    malformed = client.post("/api/events", content=b'{"type": ', headers=headers)
    assert (malformed.status_code, malformed.json()["title"]) == (400, "Malformed JSON")
    wrong = client.post(
        "/api/events", content=b"type=x", headers={**W, "content-type": "text/plain"}
    )
    assert wrong.status_code == 415
    assert wrong.json()["field"] == "content-type" and wrong.json()["reason"]
    assert wrong.json()["request_id"] == wrong.headers["x-request-id"]
    huge = {"type": "custom.big", "payload": {"blob": "x" * 2_000_000}, "session_id": "s"}
    too_big = client.post("/api/events", json=huge, headers=W)
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == "application/problem+json"
    assert too_big.json()["field"] == "body" and "bytes" in too_big.json()["reason"]
    assert too_big.json()["request_id"] == too_big.headers["x-request-id"]
    assert total(client) == before


def test_unknown_routes_methods_and_bounds(client: TestClient) -> None:
    assert client.get("/api/nothing-here", headers=R).status_code == 404
    assert client.delete("/api/events/recent", headers=W).status_code == 405
    limit = client.get("/api/events/recent?limit=100000", headers=R)
    assert (limit.status_code, limit.json()["field"]) == (422, "limit")
    since = client.get("/api/sessions/s/events?since_seq=-1", headers=R)
    assert since.status_code == 422
    assert client.get("/api/runs/unknown", headers=R).status_code == 404
    assert client.post("/api/runs/unknown/start", json={}, headers=W).status_code == 404
    bad_stage = client.post(
        "/api/deals", json={"deal_id": "D", "name": "x", "stage": "won"}, headers=W
    )
    assert (bad_stage.status_code, bad_stage.json()["field"]) == (422, "stage")
    long_id = client.post("/api/deals", json={"deal_id": "D" * 30, "name": "x"}, headers=W)
    assert long_id.status_code == 422
    assert total(client) == 0


def test_unicode_and_sql_looking_strings_are_stored_verbatim(client: TestClient) -> None:
    odd = "Robert'); DROP TABLE session_events;-- ✓ 日本語 \u202e 😀 \\ %s ? $1"
    body = {
        "type": "custom.odd",
        "payload": {"text": odd, odd: odd},
        "session_id": "s-ü",
        "actor": odd[:200],
    }
    created = client.post("/api/events", json=body, headers=W)
    assert created.status_code == 201
    back = client.get("/api/sessions/s-ü/events", headers=R).json()["events"][0]
    assert back["payload"] == {"text": odd, odd: odd}
    assert back["actor"] == odd[:200]
    again = client.get(f"/api/events/{back['event_id']}", headers=R).json()
    assert again == back


def test_openapi_is_complete(client: TestClient) -> None:
    spec = client.get("/openapi.json", headers=R).json()
    paths = spec["paths"]
    assert len(paths) >= 50
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "422"} <= codes or path in {"/healthz", "/readyz", "/metrics"}, (
                path,
                method,
            )
            assert operation.get("summary"), (path, method)
    assert "Problem" in spec["components"]["schemas"]
    assert "Envelope" in spec["components"]["schemas"]
    assert client.get("/docs", headers=R).status_code == 200


def test_stats_since_is_honoured_and_checked(client: TestClient) -> None:
    since = client.get("/api/events/stats?since=2000-01-01T00:00:00Z", headers=R)
    assert (since.status_code, since.json()["since"]) == (200, "2000-01-01T00:00:00Z")
    later = client.get("/api/events/stats?since=2999-01-01T00:00:00Z", headers=R).json()
    assert later["total"] == 0
    naive = client.get("/api/events/stats?since=2000-01-01T00:00:00", headers=R)
    assert (naive.status_code, naive.json()["field"]) == (422, "since")
    both = client.get("/api/events/stats?since=2000-01-01T00:00:00Z&window=1h", headers=R)
    assert both.status_code == 422
    unknown = client.get("/api/events/recent?types=bogus", headers=R)
    assert unknown.status_code == 422 and "deal.created" in unknown.json()["detail"]
