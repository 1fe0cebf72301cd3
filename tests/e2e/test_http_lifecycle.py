"""Every endpoint through the real app: a run's whole lifecycle, deals, actions, jobs."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import OP, OPERATOR, READER, WRITER, R, W, auth, total


def post(
    client: TestClient,
    path: str,
    body: dict[str, Any] | None = None,
    status: int = 201,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = client.post(path, json=body or {}, headers={**W, **(headers or {})})
    assert response.status_code == status, response.text
    assert response.headers["X-Request-ID"]
    result: dict[str, Any] = response.json()
    return result


def test_run_lifecycle_then_read_back(client: TestClient) -> None:
    created = post(
        client, "/api/sessions/s-1/runs", {"run_id": "r-1", "requires_verification": True}
    )
    assert created["events"][0]["seq"] == 1
    post(client, "/api/runs/r-1/start", {"phase": "plan"})
    post(client, "/api/runs/r-1/thinking", {"content": "look it up"})
    post(client, "/api/runs/r-1/tool-calls", {"tool_call_id": "t-1", "tool_name": "search"})
    post(client, "/api/runs/r-1/waiting-approval", {"tool_call_id": "t-1"})
    post(client, "/api/runs/r-1/tool-calls/t-1/complete", {"result": {"hits": 2}})
    post(client, "/api/runs/r-1/tool-calls", {"tool_call_id": "t-2", "tool_name": "rm"})
    post(client, "/api/runs/r-1/policy/block", {"tool_name": "rm", "tool_call_id": "t-2"})
    post(client, "/api/runs/r-1/policy/warn", {"tool_name": "curl", "reason": "egress"})
    post(client, "/api/runs/r-1/tool-calls/t-2/fail", {"error": "blocked"})
    post(client, "/api/runs/r-1/wait-for-input", {"prompt": "which deal?"})
    post(client, "/api/runs/r-1/resume", {"input": "DL-0001"})
    post(client, "/api/runs/r-1/verify/start", {})
    post(client, "/api/runs/r-1/verify/fail", {"reason": "no source"})
    refused = client.post("/api/runs/r-1/complete", json={}, headers=W)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["current_state"], refused.json()["attempted_event"]) == (
        "running",
        "run_completed",
    )
    post(client, "/api/runs/r-1/verify/start", {})
    post(client, "/api/runs/r-1/verify/pass", {"details": "cited"})
    done = post(client, "/api/runs/r-1/complete", {"output": "ok", "correlation_id": "DL-0001"})
    assert done["events"][0]["seq"] == 17

    run = client.get("/api/runs/r-1", headers=R).json()
    assert (run["status"], run["verified"], run["tool_calls"]) == (
        "completed",
        True,
        {"t-1": "completed", "t-2": "failed"},
    )
    by_session = client.get("/api/sessions/s-1/events", headers=R).json()
    assert [e["seq"] for e in by_session["events"]] == list(range(1, 18))
    seqs, since = [], 0
    while True:
        page = client.get(f"/api/runs/r-1/events?since_seq={since}&limit=5", headers=R).json()
        seqs += [e["seq"] for e in page["events"]]
        if page["next_since_seq"] is None:
            break
        since = page["next_since_seq"]
    assert seqs == list(range(1, 18))
    seed = client.get("/api/events/by-run/r-1?limit=3", headers=R).json()
    assert [e["type"] for e in seed["events"]] == ["run_created", "run_started", "agent.thinking"]
    correlated = client.get("/api/events/by-correlation/r-1", headers=R).json()
    assert correlated["count"] == 16
    deal_side = client.get("/api/events/by-correlation/DL-0001", headers=R).json()
    assert [e["type"] for e in deal_side["events"]] == ["run_completed"]
    session = client.get("/api/sessions/s-1", headers=R).json()
    assert (session["last_seq"], session["runs"][0]["status"]) == (17, "completed")
    runs = client.get("/api/runs?status=completed", headers=R).json()
    assert [r["key"] for r in runs["items"]] == ["r-1"]


def test_seed_endpoints(client: TestClient) -> None:
    post(client, "/api/sessions/s-1/runs", {"run_id": "r-1"})
    post(client, "/api/runs/r-1/start")
    post(client, "/api/runs/r-1/cancel", {"reason": "user"})
    recent = client.get("/api/events/recent?limit=2", headers=R).json()
    assert [e["type"] for e in recent["events"]] == ["run_cancelled", "run_started"]
    only = client.get("/api/events/recent?types=run_created,agent.run_started", headers=R).json()
    assert sorted(e["type"] for e in only["events"]) == ["run_created", "run_started"]
    stats = client.get("/api/events/stats?window=24h", headers=R).json()
    assert (stats["total"], stats["by_domain"]) == (3, {"run": 3})
    one = client.get(f"/api/events/{recent['events'][0]['event_id']}", headers=R)
    assert one.json()["type"] == "run_cancelled"
    assert client.get("/api/events/unknown-id", headers=R).status_code == 404
    assert client.get("/api/events/stats?window=soon", headers=R).status_code == 422


def test_emission_single_batch_and_dedup(client: TestClient) -> None:
    body = {
        "type": "custom.note",
        "payload": {"text": "hi"},
        "session_id": "s-9",
        "event_id": "n-1",
    }
    first = client.post("/api/events", json=body, headers=W)
    again = client.post("/api/events", json=body, headers=W)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["seq"] == 1
    batch = {
        "events": [
            {"type": "run_created", "payload": {}, "session_id": "s-9", "run_id": "r-9"},
            {"type": "agent.run_started", "payload": {"phase": "x"}, "run_id": "r-9"},
            {"type": "agent.thinking", "payload": {"content": "..."}, "run_id": "r-9"},
        ]
    }
    written = client.post("/api/events", json=batch, headers=W)
    assert written.status_code == 201
    assert [(e["type"], e["seq"]) for e in written.json()["events"]] == [
        ("run_created", 2),
        ("run_started", 3),
        ("agent.thinking", 4),
    ]
    conflict = client.post("/api/events", json={**body, "payload": {"text": "other"}}, headers=W)
    assert conflict.status_code == 409


def test_idempotency_key_maps_to_event_id(client: TestClient) -> None:
    post(client, "/api/sessions/s-1/runs", {"run_id": "r-1"})
    key = {"Idempotency-Key": "start-r-1"}
    first = post(client, "/api/runs/r-1/start", {}, headers=key)
    again = post(client, "/api/runs/r-1/start", {}, status=200, headers=key)
    assert first["events"] == again["events"]
    assert first["events"][0]["event_id"] == "start-r-1"
    assert again["written"] is False


def test_deals_actions_jobs(client: TestClient) -> None:
    post(client, "/api/deals", {"deal_id": "DL-0001", "name": "Acme"})
    for stage in ["screening", "qualified", "loi"]:
        post(client, "/api/deals/DL-0001/stage", {"to_stage": stage})
    noop = post(client, "/api/deals/DL-0001/stage", {"to_stage": "loi"}, status=200)
    assert noop == {"events": [], "written": False}
    bad = client.post("/api/deals/DL-0001/stage", json={"to_stage": "portfolio"}, headers=W)
    assert bad.status_code == 409
    patched = client.patch("/api/deals/DL-0001", json={"display_name": "ACME"}, headers=W)
    assert patched.status_code == 201
    post(client, "/api/deals/DL-0001/profile", {"profile": {"sector": "saas"}})
    deal = client.get("/api/deals/DL-0001", headers=R).json()
    assert (deal["stage"], deal["display_name"], deal["profile"]) == (
        "loi",
        "ACME",
        {"sector": "saas"},
    )
    post(client, "/api/actions", {"action_id": "A-1", "action_type": "email", "deal_id": "DL-0001"})
    post(client, "/api/actions/A-1/approve", {"by": "ops"})
    post(client, "/api/actions/A-1/execute")
    post(client, "/api/actions/A-1/fail", {"error": "smtp"})
    post(client, "/api/actions/A-1/execute")
    post(client, "/api/actions/A-1/complete", {"result": {"sent": True}})
    post(client, "/api/actions", {"action_id": "A-2", "action_type": "wire"})
    post(client, "/api/actions/A-2/quarantine", {"reason": "odd"})
    post(client, "/api/actions/A-2/reject", {"by": "risk"})
    actions = client.get("/api/actions?deal_id=DL-0001", headers=R).json()
    assert [(a["key"], a["status"]) for a in actions["items"]] == [("A-1", "completed")]
    post(client, "/api/deals/DL-0001/archive", {"reason": "won elsewhere"})
    deals = client.get("/api/deals?stage=archived", headers=R).json()
    assert deals["total"] == 1
    post(client, "/api/jobs", {"job_id": "J-1", "job_type": "enrich", "max_attempts": 2})
    post(client, "/api/jobs/J-1/start")
    post(client, "/api/jobs/J-1/fail", {"error": "503"})
    post(client, "/api/jobs/J-1/start", {"worker_id": "w-1"})
    dead = post(client, "/api/jobs/J-1/fail", {"error": "503"})
    assert [e["type"] for e in dead["events"]] == ["worker.job_failed", "worker.job_dlq"]
    assert client.get("/api/jobs?status=dlq", headers=R).json()["total"] == 1
    assert client.post("/api/jobs/J-1/requeue", json={}, headers=W).status_code == 403
    assert client.post("/api/jobs/J-1/requeue", json={}, headers=OP).status_code == 201
    post(client, "/api/jobs", {"job_id": "J-2", "job_type": "x"})
    post(client, "/api/jobs/J-2/start")
    post(client, "/api/jobs/J-2/complete", {"result": 1})
    post(client, "/api/jobs", {"job_id": "J-3", "job_type": "x", "max_attempts": 1})
    post(client, "/api/jobs/J-3/start")
    failed = client.post("/api/jobs/J-3/fail", json={"error": "x"}, headers=W)
    assert failed.status_code == 201
    assert [e["type"] for e in failed.json()["events"]] == ["worker.job_failed", "worker.job_dlq"]
    # /fail retries or dead-letters by itself: there are no /retry or /dead-letter routes
    assert client.post("/api/jobs/J-3/retry", json={}, headers=W).status_code == 404
    assert client.post("/api/jobs/J-3/dead-letter", json={}, headers=W).status_code == 404
    post(client, "/api/jobs", {"job_id": "J-4", "job_type": "x", "max_attempts": 3})
    post(client, "/api/jobs/J-4/start")
    first = post(client, "/api/jobs/J-4/fail", {"error": "x"})
    assert [e["type"] for e in first["events"]] == ["worker.job_failed", "worker.job_retrying"]


def test_auth(client: TestClient) -> None:
    assert client.get("/api/events/recent").status_code == 401
    assert client.get("/api/events/recent", headers=auth("x" * 30)).status_code == 401
    assert (
        client.get("/api/events/recent", headers={"Authorization": "Basic abc"}).status_code == 401
    )
    assert client.get("/api/events/recent", headers=R).status_code == 200
    before = total(client)
    denied = client.post("/api/events", json={"type": "custom.x", "payload": {}}, headers=R)
    assert denied.status_code == 403
    assert denied.json()["title"] == "Forbidden"
    assert total(client) == before
    assert client.post("/api/admin/projections/legacy/rebuild", headers=W).status_code == 403
    post(client, "/api/events", {"type": "custom.x", "payload": {}, "session_id": "s"})
    missing = client.post("/api/admin/projections/timeline/rebuild", headers=OP)
    assert missing.status_code == 404  # the log is the timeline: nothing to rebuild
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    newest = client.get("/api/events/recent?limit=1", headers=R).json()["events"][0]
    assert (ready["status"], ready["position"]) == ("ready", newest["position"])
    assert "zakops_http_requests_total" in client.get("/metrics", headers=R).text
    spec = client.get("/openapi.json", headers=R).text
    assert {READER, WRITER, OPERATOR}.isdisjoint(spec.split('"'))
