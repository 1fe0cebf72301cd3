"""Roles, key generation and digests.

Keys are `zk_<id>_<secret>`: a 12-hex-digit id (shown by `zakops keys list`, so an operator
can tell which key a leaked string is and revoke it) and 256 random bits. Only the SHA-256 of
the whole key is stored. A slow password hash (scrypt, PBKDF2) protects guessable secrets;
these are random, so a fast digest is as safe, and checking a key costs microseconds rather
than milliseconds of CPU that unauthenticated clients could make us spend."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal, cast

Role = Literal["reader", "writer", "operator"]
RANK: dict[str, int] = {"reader": 1, "writer": 2, "operator": 3}
MAX_KEY_LENGTH = 512  # longer bearer values are refused before they are hashed
MIN_KEY_LENGTH = 16


def new_key() -> tuple[str, str]:
    """A fresh `(key_id, key)`."""
    key_id = secrets.token_hex(6)
    return key_id, f"zk_{key_id}_{secrets.token_urlsafe(32)}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def role(value: str) -> Role:
    if value not in RANK:
        raise ValueError("roles are reader, writer and operator")
    return cast(Role, value)


def parse_pairs(text: str) -> list[tuple[str, Role]]:
    """`role:key` pairs, comma- or newline-separated (ZAKOPS_API_KEYS; key files before
    keys were hashed)."""
    pairs: list[tuple[str, Role]] = []
    for item in text.replace("\n", ",").split(","):
        if not item.strip():
            continue
        name, _, key = item.strip().partition(":")
        if name not in RANK or not MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH:
            raise ValueError(
                "API keys are role:key pairs; roles reader|writer|operator, keys >= 16 characters"
            )
        pairs.append((key, role(name)))
    return pairs
