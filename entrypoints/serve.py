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


def serve(settings: Settings, workers: int = 1, log_level: str = "info") -> None:
    console = Console()
    new_key = ensure_key(settings)
    base = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]ZakOps Event Core[/bold] on {base}  (store: {settings.store})")
    docs = "" if settings.public_docs else "  (with a key, or ZAKOPS_PUBLIC_DOCS=true)"
    console.print(f"  console: {base}/console/  (sign in with an API key)")
    console.print(f"  API docs: {base}/docs{docs}   health: {base}/healthz")
    if new_key:
        console.print(
            f"  [yellow]created an operator API key[/yellow], shown once (only its SHA-256 "
            f"is kept, in {key_file(settings).path}): [bold]{new_key}[/bold]"
        )
    else:
        console.print(f"  API keys: from ZAKOPS_API_KEYS and {key_file(settings).path}")
    console.print(f'  try: curl -H "Authorization: Bearer <key>" {base}/api/events/recent')
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
