"""`POST /api/events` served by its lean path (adapters/http/lean.py): the same metrics,
problems and crash handling as a routed request, and only that route taken off the
routing."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from adapters.http.app import EventCoreApi
from tests.e2e.conftest import W, total

BODY = {"type": "custom.tick", "session_id": "s-lean", "payload": {"i": 1}}


def counted(client: TestClient, method: str, route: str, status: int) -> float:
    metrics = client.app.state.metrics  # type: ignore[attr-defined]  # the app's own Metrics
    value = metrics.registry.get_sample_value(
        "zakops_http_requests_total", {"method": method, "route": route, "status": str(status)}
    )
    return float(value or 0)


def test_only_the_emit_route_takes_the_lean_path(client: TestClient) -> None:
    assert client.post("/api/events", json=BODY, headers=W).status_code == 201
    app = client.app
    assert isinstance(app, EventCoreApi) and app.lean is not None
    assert app.lean.find({"type": "http", "method": "POST", "path": "/api/events"})
    for method, path in [("GET", "/api/events"), ("POST", "/api/events/recent")]:
        assert app.lean.find({"type": "http", "method": method, "path": path}) is None
    assert client.get("/api/events", headers=W).status_code == 405  # routed, as before


def test_lean_requests_are_counted_under_the_routes_label(client: TestClient) -> None:
    client.post("/api/events", json=BODY, headers=W)
    client.post("/api/events", json={**BODY, "type": "nope"}, headers=W)
    client.post("/api/events", content=b"{", headers={**W, "Content-Type": "application/json"})
    assert counted(client, "POST", "/api/events", 201) == 1
    assert counted(client, "POST", "/api/events", 422) == 1
    assert counted(client, "POST", "/api/events", 400) == 1


def test_a_crash_in_the_lean_path_is_a_logged_500_problem(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("the emitter broke")

    emitter = client.app.state.deps.emitter  # type: ignore[attr-defined]  # the app's ApiDeps
    monkeypatch.setattr(emitter, "emit_batch", broken)
    before = total(client)
    with caplog.at_level(logging.ERROR):
        answer = client.post("/api/events", json=BODY, headers=W)
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["title"] == "Internal error"
    assert re.fullmatch(r"[0-9a-f]{32}", problem["request_id"])
    assert "RuntimeError: the emitter broke" in caplog.text
    assert problem["request_id"] in {getattr(r, "request_id", None) for r in caplog.records}
    assert total(client) == before
    monkeypatch.undo()
    assert client.post("/api/events", json=BODY, headers=W).status_code == 201
