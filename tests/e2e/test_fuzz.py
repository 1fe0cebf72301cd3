"""Schemathesis over the OpenAPI document: no request, however odd, gets a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr

from entrypoints.asgi import create_app
from entrypoints.settings import Settings
from tests.e2e.conftest import KEYS, OPERATOR

EXAMPLES = 8


@pytest.fixture
def api_schema(tmp_path: Path) -> Any:
    app_settings = Settings(
        store="sqlite",
        sqlite_path=tmp_path / "fuzz.sqlite",
        api_keys=SecretStr(KEYS),
        data_dir=tmp_path,
        public_docs=True,  # schemathesis reads /openapi.json without a key
        _env_file=None,
    )
    app = create_app(app_settings)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_server_errors(api_schema: Any) -> None:
    """Every operation, a bounded number of generated requests each (schemathesis's pytest
    plugin does not run under pytest 9, so the operations are driven directly)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # Live streams never end on their own, and the in-process transport never disconnects:
    # their refusals (bad cursor, unknown run, too many streams) are tested in test_sse.py,
    # test_live.py and test_http_hostile.py.
    operations = [op for op in operations if not op.path.endswith("/stream")]
    assert len(operations) >= 50
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def call(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {OPERATOR}"})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:300]}")

        call()
    assert failures == []
