"""Serve the HTTP API with uvicorn (what `make run` starts)."""

from __future__ import annotations

import logging
import sys

import uvicorn
from rich.console import Console

from adapters.http.observability import JsonFormatter
from adapters.http.protocol import BoundedHttpToolsProtocol
from entrypoints.keys import ensure_key, key_file
from entrypoints.settings import Settings


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("zakops")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def banner(settings: Settings, new_key: str | None, key_path: str) -> list[str]:
    """What `make run` prints first: one fact a line, never wrapped, the key and the curl
    hint on lines of their own (with the real key when one was just created)."""
    base = f"http://{settings.host}:{settings.port}"
    docs = "" if settings.public_docs else "  (with a key, or ZAKOPS_PUBLIC_DOCS=true)"
    lines = [
        f"ZakOps Event Core on {base}  (store: {settings.store})",
        f"  console:  {base}/console/  (sign in with an API key)",
        f"  API docs: {base}/docs{docs}",
        f"  health:   {base}/healthz",
    ]
    if new_key:
        lines += [
            f"  created an operator API key, shown once (only its SHA-256 is kept, in {key_path}):",
            f"    {new_key}",
        ]
    else:
        lines.append(f"  API keys: from ZAKOPS_API_KEYS and {key_path}")
    lines += [
        "  try:",
        f'    curl -H "Authorization: Bearer {new_key or "<key>"}" {base}/api/events/recent',
    ]
    return lines


def serve(settings: Settings, workers: int = 1, log_level: str = "info") -> None:
    console = Console(soft_wrap=True)
    new_key = ensure_key(settings)
    for line in banner(settings, new_key, str(key_file(settings).path)):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    configure_logging(log_level)
    uvicorn.run(
        "entrypoints.asgi:create_server_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        http=BoundedHttpToolsProtocol,
    )


def main() -> None:
    serve(Settings())


if __name__ == "__main__":
    main()
