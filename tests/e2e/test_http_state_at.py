"""A run's and a deal's state as of a moment: `GET /api/runs/{id}?at_seq=N` and
`GET /api/deals/{id}?at_position=P` replay the aggregate up to that point."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import R, W


def post(client: TestClient, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post(path, json=body or {}, headers=W)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def run_at(client: TestClient, run_id: str, seq: int) -> dict[str, Any]:
    response = client.get(f"/api/runs/{run_id}", params={"at_seq": seq}, headers=R)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_run_as_of_each_seq(client: TestClient) -> None:
    post(client, "/api/sessions/s-at/runs", {"run_id": "r-at"})  # seq 1
    post(client, "/api/sessions/s-at/runs", {"run_id": "r-other"})  # seq 2, another run
    post(client, "/api/runs/r-at/start")  # seq 3
    post(client, "/api/runs/r-at/tool-calls", {"tool_call_id": "t1", "tool_name": "search"})
    post(client, "/api/runs/r-at/cancel", {"reason": "enough"})  # seq 5

    assert run_at(client, "r-at", 1)["status"] == "queued"
    assert run_at(client, "r-at", 2)["status"] == "queued"  # seq 2 is the other run's
    assert run_at(client, "r-at", 3)["status"] == "running"
    four = run_at(client, "r-at", 4)
    assert (four["status"], four["open_tool_calls"], four["version"]) == ("running", ["t1"], 3)
    assert run_at(client, "r-at", 5)["status"] == "cancelled"
    assert run_at(client, "r-at", 99) == client.get("/api/runs/r-at", headers=R).json()

    before = client.get("/api/runs/r-other", params={"at_seq": 1}, headers=R)
    assert before.status_code == 404
    assert "at seq 1" in before.json()["detail"]
    assert client.get("/api/runs/nope", params={"at_seq": 3}, headers=R).status_code == 404
    bad = client.get("/api/runs/r-at", params={"at_seq": -1}, headers=R)
    assert bad.status_code == 422


def test_a_long_run_replays_past_its_snapshots(client: TestClient) -> None:
    post(client, "/api/sessions/s-long/runs", {"run_id": "r-long"})
    post(client, "/api/runs/r-long/start")
    for n in range(150):  # past the snapshot interval (100)
        post(client, "/api/runs/r-long/thinking", {"content": f"step {n}"})
    assert run_at(client, "r-long", 120)["version"] == 120
    assert run_at(client, "r-long", 152)["version"] == 152


def test_a_deal_as_of_a_position(client: TestClient) -> None:
    created = post(client, "/api/deals", {"deal_id": "DL-AT", "name": "Acme"})
    first = created["events"][0]["position"]
    moved = post(client, "/api/deals/DL-AT/stage", {"to_stage": "screening"})
    second = moved["events"][0]["position"]
    post(client, "/api/deals/DL-AT/stage", {"to_stage": "qualified"})

    def stage_at(position: int) -> str:
        response = client.get("/api/deals/DL-AT", params={"at_position": position}, headers=R)
        assert response.status_code == 200, response.text
        return str(response.json()["stage"])

    assert stage_at(first) == "inbound"
    assert stage_at(second) == "screening"
    assert stage_at(second + 1000) == "qualified"
    early = client.get("/api/deals/DL-AT", params={"at_position": first - 1}, headers=R)
    assert early.status_code == 404
