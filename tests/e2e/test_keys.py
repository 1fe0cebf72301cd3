"""API keys against a running server: `zakops keys create|list|revoke` take effect without a
restart; /metrics and the docs need a key unless a setting opens them; a client without a key
gets 401 before its body is read (issue 10, item 9)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters.cli.app import make_cli
from entrypoints.asgi import create_app
from entrypoints.cli import hooks
from entrypoints.settings import Settings
from tests.e2e.server import running

runner = CliRunner()
cli = make_cli(hooks())
OPERATIONS = ["/metrics", "/openapi.json", "/docs", "/redoc"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        store="sqlite",
        sqlite_path=tmp_path / "keys.sqlite",
        data_dir=tmp_path / "data",
        _env_file=None,
    )


def zakops(settings: Settings, *args: str, code: int = 0) -> str:
    env = {"ZAKOPS_DATA_DIR": str(settings.data_dir), "COLUMNS": "200"}
    result = runner.invoke(cli, list(args), env=env)
    assert result.exit_code == code, (args, result.output)
    return result.output


def create(settings: Settings, role: str) -> tuple[str, str]:
    """`zakops keys create`: (key id, key)."""
    output = zakops(settings, "keys", "create", "--role", role)
    key = re.search(r"key: (zk_\S+)", output)
    key_id = re.search(r"id (\S+);", output)
    assert key and key_id, output
    return key_id.group(1), key.group(1)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def server(settings: Settings) -> Iterator[httpx.Client]:
    with running(create_app(settings)) as base, httpx.Client(base_url=base) as client:
        yield client


def test_keys_created_and_revoked_by_the_cli_count_without_a_restart(
    settings: Settings, server: httpx.Client
) -> None:
    assert server.get("/api/events/recent").status_code == 401
    key_id, key = create(settings, "writer")
    assert server.get("/api/events/recent", headers=bearer(key)).status_code == 200
    body = {"type": "custom.note", "payload": {}, "session_id": "s-k"}
    assert server.post("/api/events", json=body, headers=bearer(key)).status_code == 201
    listed = zakops(settings, "keys", "list", "--json")
    assert key not in listed
    assert [(k["id"], k["role"]) for k in json.loads(listed)["keys"]] == [(key_id, "writer")]
    assert key_id in zakops(settings, "keys", "list")
    assert key not in (settings.data_dir / "api-keys").read_text()

    assert "revoked writer key" in zakops(settings, "keys", "revoke", key_id)
    refused = server.get("/api/events/recent", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    zakops(settings, "keys", "revoke", key_id, code=2)


def test_metrics_and_docs_need_a_key_unless_a_setting_opens_them(settings: Settings) -> None:
    _, key = create(settings, "reader")
    with TestClient(create_app(settings)) as client:
        for path in OPERATIONS:
            assert client.get(path).status_code == 401, path
            assert client.get(path, headers=bearer(key)).status_code == 200, path
        for path in ("/healthz", "/readyz"):
            assert client.get(path).status_code == 200, path
    opened = settings.model_copy(update={"public_metrics": True, "public_docs": True})
    with TestClient(create_app(opened)) as client:
        for path in OPERATIONS:
            assert client.get(path).status_code == 200, path
        assert client.get("/api/events/recent").status_code == 401
    only_metrics = settings.model_copy(update={"public_metrics": True})
    with TestClient(create_app(only_metrics)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/openapi.json").status_code == 401


def test_a_client_without_a_key_gets_401_before_its_body_is_read(settings: Settings) -> None:
    _, key = create(settings, "writer")
    malformed = b'{"type": "custom.x", "payload": {'
    json_type = {"Content-Type": "application/json"}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for headers in ({}, bearer("zk_unknown_" + "x" * 40), {"Authorization": "Basic abc"}):
            answer = client.post("/api/events", content=malformed, headers=json_type | headers)
            assert answer.status_code == 401, answer.text
            assert answer.headers["www-authenticate"] == "Bearer"
            too_big = client.post("/api/events", content=b"x" * 2_000_000, headers=json_type)
            assert too_big.status_code == 401
            assert client.post("/api/events", json={}, headers=headers).status_code == 401
        known = client.post("/api/events", content=malformed, headers=json_type | bearer(key))
        assert known.status_code == 400  # with a key, the body is read and found malformed
        assert known.json()["title"] == "Malformed JSON"
