"""The tests' own environment: no `.env` is read and no inherited `ZAKOPS_*` reaches them."""

from __future__ import annotations

from pathlib import Path

import pytest

from entrypoints.settings import Settings
from tests import app_variables


def test_no_app_setting_is_inherited() -> None:
    assert app_variables() == []
    assert Settings().store == "sqlite"


def test_a_dotenv_in_the_working_directory_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("ZAKOPS_STORE=memory\nZAKOPS_PORT=9999\n")
    monkeypatch.chdir(tmp_path)
    assert (Settings().store, Settings().port) == ("sqlite", 8000)
    assert Settings(_env_file=tmp_path / ".env").store == "memory"  # the file itself is valid
