"""The real HTTP app (the real container) on SQLite and PostgreSQL, driven through httpx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from entrypoints.asgi import create_app
from entrypoints.settings import Settings
from tests.conftest import settings_for

READER, WRITER, OPERATOR = "r" * 24, "w" * 24, "o" * 24
KEYS = f"reader:{READER},writer:{WRITER},operator:{OPERATOR}"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


R, W, OP = auth(READER), auth(WRITER), auth(OPERATOR)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def http_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    base = settings_for(str(request.param), request, tmp_path)
    return base.model_copy(update={"api_keys": KEYS, "data_dir": tmp_path / "data"})


@pytest.fixture
def client(http_settings: Settings) -> Iterator[TestClient]:
    from pydantic import SecretStr

    settings = http_settings.model_copy(update={"api_keys": SecretStr(KEYS)})
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def total(client: TestClient) -> int:
    """How many events the timeline holds (to prove refused requests write nothing)."""
    response = client.get("/api/events/stats", headers=R)
    assert response.status_code == 200
    return int(response.json()["total"])
