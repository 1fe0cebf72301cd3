"""API keys: from settings, plus a local key file that `make run` creates on first start."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import cast

from adapters.http.auth import RANK, KeyRing, Role
from entrypoints.settings import Settings

KEY_FILE = "api-keys"


def parse_pairs(text: str) -> list[tuple[str, Role]]:
    pairs: list[tuple[str, Role]] = []
    for item in text.replace("\n", ",").split(","):
        if not item.strip():
            continue
        role, _, key = item.strip().partition(":")
        if role not in RANK or len(key) < 16:
            raise ValueError(
                "API keys are role:key pairs; roles reader|writer|operator, keys >= 16"
            )
        pairs.append((key, cast(Role, role)))
    return pairs


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def keyring(settings: Settings) -> KeyRing:
    pairs = parse_pairs(settings.api_keys.get_secret_value()) if settings.api_keys else []
    path = key_file(settings)
    if path.exists():
        pairs += parse_pairs(path.read_text())
    return KeyRing.of(pairs)


def create_key(settings: Settings, role: Role) -> str:
    """A new random key for `role`, appended to the local key file (mode 600)."""
    key = f"zk_{secrets.token_urlsafe(24)}"
    path = key_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(f"{role}:{key}\n")
    path.chmod(0o600)
    return key


def ensure_key(settings: Settings) -> str | None:
    """When no key is configured anywhere, create an operator key and return it (once)."""
    if keyring(settings).keys:
        return None
    return create_key(settings, "operator")
