"""The `make run` banner: the key and the curl hint on lines of their own, the real key."""

from __future__ import annotations

from entrypoints.serve import banner
from entrypoints.settings import Settings


def test_a_new_key_is_on_its_own_line_and_in_the_curl_hint() -> None:
    lines = banner(Settings(_env_file=None), "zk_operator_secret", "/data/api-keys.json")
    assert "    zk_operator_secret" in lines
    curl = next(line for line in lines if "curl" in line)
    assert curl.strip().startswith("curl") and "Bearer zk_operator_secret" in curl


def test_without_a_new_key_the_hint_says_where_keys_come_from() -> None:
    lines = banner(Settings(_env_file=None), None, "/data/api-keys.json")
    assert any("ZAKOPS_API_KEYS" in line for line in lines)
    assert any("Bearer <key>" in line for line in lines)
