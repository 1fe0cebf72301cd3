"""`POST /api/events` with an `Idempotency-Key`: the key names the events, so a repeated post
writes nothing; and the route's other guards (auth before the body, one key per request)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.e2e.conftest import R, W, total


def tick(i: int, session: str = "s-keys") -> dict[str, object]:
    return {"type": "custom.tick", "payload": {"i": i}, "session_id": session}


def test_a_single_event_posted_twice_with_one_key_is_written_once(client: TestClient) -> None:
    first = client.post("/api/events", json=tick(1), headers={**W, "Idempotency-Key": "k-1"})
    again = client.post("/api/events", json=tick(1), headers={**W, "Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["event_id"] == "k-1"
    assert again.json() == first.json()
    assert total(client) == 1


def test_a_batch_posted_twice_with_one_key_is_written_once(client: TestClient) -> None:
    batch = {"events": [tick(i) for i in range(3)]}
    first = client.post("/api/events", json=batch, headers={**W, "Idempotency-Key": "b-1"})
    again = client.post("/api/events", json=batch, headers={**W, "Idempotency-Key": "b-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    ids = [e["event_id"] for e in first.json()["events"]]
    assert ids == ["b-1.0", "b-1.1", "b-1.2"]
    assert again.json()["events"] == first.json()["events"]
    assert again.json()["written"] is False
    assert total(client) == 3


def test_one_key_with_another_body_is_a_conflict(client: TestClient) -> None:
    headers = {**W, "Idempotency-Key": "k-2"}
    assert client.post("/api/events", json=tick(1), headers=headers).status_code == 201
    other = client.post("/api/events", json=tick(2), headers=headers)
    assert other.status_code == 409
    assert total(client) == 1


def test_an_event_id_that_differs_from_the_key_is_refused(client: TestClient) -> None:
    single = client.post(
        "/api/events", json={**tick(1), "event_id": "e-x"}, headers={**W, "Idempotency-Key": "k"}
    )
    assert single.status_code == 422
    assert single.json()["field"] == "event_id"
    batch = {"events": [tick(0), {**tick(1), "event_id": "e-y"}]}
    refused = client.post("/api/events", json=batch, headers={**W, "Idempotency-Key": "k"})
    assert refused.status_code == 422
    assert refused.json()["field"] == "events.1.event_id"
    assert total(client) == 0


def test_a_key_too_long_for_a_batch_is_refused_naming_the_limit(client: TestClient) -> None:
    batch = {"events": [tick(i) for i in range(12)]}
    long_key = "k" * 98  # the ids would be k...k.0 to k...k.11: 101 characters
    refused = client.post("/api/events", json=batch, headers={**W, "Idempotency-Key": long_key})
    assert refused.status_code == 422
    assert refused.json()["field"] == "Idempotency-Key"
    assert "at most 97" in refused.json()["detail"]
    assert total(client) == 0


def test_two_idempotency_keys_are_a_bad_request(client: TestClient) -> None:
    headers = [("Authorization", W["Authorization"]), ("Idempotency-Key", "a")]
    headers.append(("Idempotency-Key", "b"))
    response = client.post("/api/events", json=tick(1), headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert total(client) == 0


def test_the_key_is_checked_before_the_body_is_read(client: TestClient) -> None:
    bad_json = b'{"type": "custom.tick",'
    headers = {"Content-Type": "application/json"}
    anonymous = client.post("/api/events", content=bad_json, headers=headers)
    assert anonymous.status_code == 401
    reader = client.post("/api/events", content=bad_json, headers={**headers, **R})
    assert reader.status_code == 403
    writer = client.post("/api/events", content=bad_json, headers={**headers, **W})
    assert writer.status_code == 400


def test_the_emit_body_is_documented(client: TestClient) -> None:
    schema = client.get("/openapi.json", headers=R).json()  # the docs need a key
    body = schema["paths"]["/api/events"]["post"]["requestBody"]["content"]["application/json"]
    refs = {option["$ref"] for option in body["schema"]["oneOf"]}
    assert refs == {"#/components/schemas/EmitIn", "#/components/schemas/EmitBatchIn"}
    assert {"EmitIn", "EmitBatchIn"} <= set(schema["components"]["schemas"])
    assert "events" in schema["components"]["schemas"]["EmitBatchIn"]["properties"]
