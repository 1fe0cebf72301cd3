"""The one settings class: `ZAKOPS_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # ZAKOPS_ENV_FILE names the .env file to read; empty reads none (the tests run that way)
    model_config = SettingsConfigDict(
        env_prefix="ZAKOPS_",
        env_file=os.environ.get("ZAKOPS_ENV_FILE", ".env") or None,
        extra="ignore",
    )

    store: Literal["memory", "sqlite", "postgres"] = "sqlite"
    sqlite_path: Path = Path(".data/zakops.sqlite")
    postgres_dsn: SecretStr | None = None
    postgres_schema: str = "zakops_core"
    pool_size: int = Field(default=5, ge=1, le=100)
    legacy_dsn: SecretStr | None = None
    command_retries: int = Field(default=10, ge=1, le=50)
    data_dir: Path = Path(".data")
    api_keys: SecretStr | None = Field(
        default=None, description="comma-separated role:key pairs, e.g. writer:abc,reader:def"
    )
    public_metrics: bool = Field(default=False, description="serve /metrics without a key")
    public_docs: bool = Field(
        default=False, description="serve /docs, /redoc and /openapi.json without a key"
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_streams_per_key: int = Field(
        default=256, ge=1, description="SSE streams one API key may hold open at once"
    )
    aggregate_cache_mb: int = Field(
        default=64, ge=1, description="memory for cached aggregates, per process (MB)"
    )
    console_secret: SecretStr | None = Field(
        default=None,
        description="signs the console's session cookies (default: a random secret kept in "
        "ZAKOPS_DATA_DIR/console-secret)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    @field_validator("postgres_schema")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", value):
            raise ValueError("must be a lower-case SQL identifier (letters, digits, _)")
        return value

    def dsn(self) -> str:
        if self.postgres_dsn is None:
            raise ValueError("ZAKOPS_POSTGRES_DSN is required when ZAKOPS_STORE=postgres")
        return self.postgres_dsn.get_secret_value()
