"""API keys: the fixed ones of ZAKOPS_API_KEYS, plus the key file in ZAKOPS_DATA_DIR that
`zakops keys` manages and `make run` creates on first start."""

from __future__ import annotations

from adapters.keys.keyfile import KeyFile
from adapters.keys.ring import KeyRing, LiveKeyRing
from adapters.keys.tokens import parse_pairs
from entrypoints.settings import Settings

KEY_FILE = "api-keys"


def key_file(settings: Settings) -> KeyFile:
    return KeyFile(settings.data_dir / KEY_FILE)


def keyring(settings: Settings) -> LiveKeyRing:
    fixed = parse_pairs(settings.api_keys.get_secret_value()) if settings.api_keys else []
    return LiveKeyRing(KeyRing.of(fixed), key_file(settings))


def ensure_key(settings: Settings) -> str | None:
    """When no key is configured anywhere, create an operator key and return it (once)."""
    ring = keyring(settings)
    if len(ring):
        return None
    _, key = ring.file.create("operator")
    return key
