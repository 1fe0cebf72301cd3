"""What the console needs from the composition root: its cookie-signing secret and a
description of the store in use."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from entrypoints.settings import Settings

SECRET_FILE = "console-secret"


def console_secret(settings: Settings) -> str:
    """ZAKOPS_CONSOLE_SECRET, else a random secret kept in the data directory (mode 0600,
    created once and atomically), so every worker process and every restart signs the same
    session cookies."""
    if settings.console_secret is not None:
        return settings.console_secret.get_secret_value()
    path = settings.data_dir / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Path(path).read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(48) + "\n")
    return Path(path).read_text().strip()


def store_description(settings: Settings) -> dict[str, str]:
    """The store and where it is, without credentials."""
    described: dict[str, str] = {"store": settings.store}
    if settings.store == "sqlite":
        described["location"] = str(settings.sqlite_path)
    elif settings.store == "postgres":
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(settings.dsn())
        described["location"] = f"{info.get('host')}:{info.get('port', 5432)}/{info.get('dbname')}"
        described["schema"] = settings.postgres_schema
    return described
