"""Request ids, structured access logs, body-size and content-type guards, and metrics."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("zakops.http")


class JsonFormatter(logging.Formatter):
    """One JSON object per log line (what log shippers expect)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "method", "path", "status", "duration_ms", "role"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class Metrics:
    def __init__(self, lag: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "zakops_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "zakops_http_request_seconds",
            "HTTP request duration",
            ["route"],
            registry=self.registry,
        )
        self.events = Counter(
            "zakops_events_written", "Events written through the API", registry=self.registry
        )
        lag_gauge = Gauge(
            "zakops_projection_lag_events",
            "Timeline lag behind the log",
            ["projection"],
            registry=self.registry,
        )
        lag_gauge.labels("timeline").set_function(lag)


class BodyLimit:
    """Refuse bodies over `limit` bytes (413) and non-JSON bodies on writes (415)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, send, 413, f"the body is over {self.limit} bytes")
            return
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if (length not in (None, "0")) and not (
            kind == "application/json" or kind.endswith("+json")
        ):
            await self._refuse(scope, send, 415, "send the body as application/json")
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await self._refuse(scope, send, 413, f"the body is over {self.limit} bytes")

    async def _refuse(self, scope: Scope, send: Send, status: int, detail: str) -> None:
        title = "Request body too large" if status == 413 else "Unsupported content type"
        body = json.dumps(
            {
                "type": "about:blank",
                "title": title,
                "status": status,
                "detail": detail,
                "instance": scope.get("path"),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/problem+json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


def install(app: FastAPI, metrics: Metrics) -> None:
    @app.middleware("http")
    async def request_id_and_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        route = getattr(request.scope.get("route"), "path", "unmatched")
        response.headers["X-Request-ID"] = request_id
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(elapsed)
        if request.method == "POST" and response.status_code == 201:
            metrics.events.inc()
        log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        return response
