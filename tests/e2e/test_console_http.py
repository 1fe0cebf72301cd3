"""The console's security at the HTTP level, and the API unchanged beside it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.e2e.conftest import READER, WRITER, W


def token(client: TestClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, key: str) -> None:
    answer = client.post(
        "/console/login", data={"key": key, "csrf": token(client)}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def test_pages_need_a_session_and_carry_the_security_headers(client: TestClient) -> None:
    answer = client.get("/console/runs", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=/console/runs"
    login = client.get("/console/login")
    policy = login.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert login.headers["x-frame-options"] == "DENY"
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # plain http here; https requests get Secure


def test_the_cookie_is_secure_over_https(client: TestClient) -> None:
    answer = client.get("https://testserver/console/login")
    assert "secure" in answer.headers["set-cookie"].lower()


def test_sign_in_out_and_csrf(client: TestClient) -> None:
    bad = client.post("/console/login", data={"key": WRITER, "csrf": "forged"})
    assert bad.status_code == 403
    wrong = client.post("/console/login", data={"key": "x" * 30, "csrf": token(client)})
    assert wrong.status_code == 401 and "unknown or was revoked" in wrong.text
    sign_in(client, WRITER)
    assert client.get("/console/").status_code == 200
    assert client.get("/console/runs").status_code == 200
    cookie = client.cookies.get("zakops_console")
    assert cookie is not None and WRITER not in cookie  # the digest, never the key
    forged = client.post("/console/runs/r-1/cancel", data={"reason": "x"})
    assert forged.status_code == 403
    page = client.get("/console/runs").text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert csrf is not None
    out = client.post("/console/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/console/runs", follow_redirects=False).status_code == 303


def test_a_reader_cannot_command(client: TestClient) -> None:
    client.post("/api/actions", json={"action_id": "A-1", "action_type": "x"}, headers=W)
    sign_in(client, READER)
    page = client.get("/console/actions").text
    assert "A-1" in page and "Approve" not in page
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert csrf is not None
    answer = client.post(
        "/console/actions/A-1/approve", data={}, headers={"X-CSRF-Token": csrf.group(1)}
    )
    assert answer.status_code == 403 and "reader role" in answer.text


def test_the_api_is_unchanged_beside_the_console(client: TestClient) -> None:
    assert client.get("/api/events/recent").status_code == 401
    sign_in(client, WRITER)
    assert client.get("/api/events/recent").status_code == 401  # a cookie is no API key
    form = client.post("/api/events", data={"type": "custom.x"}, headers=W)
    assert form.status_code == 415  # forms only on console paths


def test_console_errors_are_pages(client: TestClient) -> None:
    sign_in(client, WRITER)
    missing = client.get("/console/runs/nope")
    assert missing.status_code == 404 and "run nope not found" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    api = client.get("/api/runs/nope", headers=W)
    assert api.headers["content-type"] == "application/problem+json"
