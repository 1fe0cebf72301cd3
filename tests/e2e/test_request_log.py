"""The access log as `zakops serve` configures it: one JSON object per request, naming the
request id the client got back, method, path, status and duration; the lean write route and
refused requests are logged like every other."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from entrypoints.serve import configure_logging
from tests.e2e.conftest import R, W


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger("zakops")
    saved = (root.handlers[:], root.level, root.propagate)
    configure_logging("info")
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    handler.setStream(captured)
    try:
        yield captured
    finally:  # other tests read these loggers through pytest's caplog (propagation)
        root.handlers[:], root.level, root.propagate = saved


def requests_logged(captured: io.StringIO) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in captured.getvalue().splitlines()]
    return [e for e in entries if e["logger"] == "zakops.http" and e["message"] == "request"]


def test_each_request_is_one_json_line_with_its_request_id(
    client: TestClient, log_lines: io.StringIO
) -> None:
    body = {"type": "custom.tick", "session_id": "s-log", "payload": {"i": 1}}
    written = client.post(
        "/api/events", json=body, headers={**W, "X-Request-ID": "req-from-client"}
    )
    assert written.status_code == 201
    listed = client.get("/api/sessions/s-log/events", headers=R)
    refused = client.post("/api/events", json={**body, "type": "nope"}, headers=W)
    unauthorised = client.get("/api/sessions/s-log/events")
    assert (listed.status_code, refused.status_code, unauthorised.status_code) == (200, 422, 401)

    logged = requests_logged(log_lines)
    assert [(e["method"], e["path"], e["status"]) for e in logged] == [
        ("POST", "/api/events", 201),
        ("GET", "/api/sessions/s-log/events", 200),
        ("POST", "/api/events", 422),
        ("GET", "/api/sessions/s-log/events", 401),
    ]
    assert logged[0]["request_id"] == "req-from-client" == written.headers["x-request-id"]
    assert logged[1]["request_id"] == listed.headers["x-request-id"] != "req-from-client"
    for entry in logged:
        assert entry["level"] == "INFO"
        assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
