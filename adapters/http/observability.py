"""Request ids, structured access logs, body-size and content-type guards, and metrics."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any

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
    def __init__(
        self,
        lags: dict[str, Callable[[], float]],
        parked: dict[str, Callable[[], float]] | None = None,
    ) -> None:
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
            "Projection lag behind the log, in events",
            ["projection"],
            registry=self.registry,
        )
        for name, measure in lags.items():
            lag_gauge.labels(name).set_function(measure)
        parked_gauge = Gauge(
            "zakops_projection_parked_events",
            "Events a projection could not write and parked (see zakops projections status)",
            ["projection"],
            registry=self.registry,
        )
        for name, measure in (parked or {}).items():
            parked_gauge.labels(name).set_function(measure)


class BodyLimit:
    """Refuse bodies over `limit` bytes (413) and non-JSON bodies on writes (415); under the
    `form_paths` prefixes (the console's pages) URL-encoded forms are accepted too."""

    def __init__(self, app: ASGIApp, limit: int, form_paths: Collection[str] = ()) -> None:
        self.app = app
        self.limit = limit
        self.form_paths = tuple(form_paths)

    def accepts(self, kind: str, path: str) -> bool:
        if kind == "application/json" or kind.endswith("+json"):
            return True
        return kind == "application/x-www-form-urlencoded" and any(
            path == prefix or path.startswith(prefix + "/") for prefix in self.form_paths
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        # latin-1, as Starlette reads headers: any byte decodes, so a stray one is no crash
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, send, 413, f"the body is over {self.limit} bytes")
            return
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        has_body = length not in (None, "0") or "transfer-encoding" in headers  # chunked
        if has_body and not self.accepts(kind, scope["path"]):
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
        if status == 413:
            await refuse(scope, send, status, "Request body too large", detail, field="body")
        else:
            title = "Unsupported content type"
            await refuse(scope, send, status, title, detail, field="content-type")


async def refuse(
    scope: Scope, send: Send, status: int, title: str, detail: str, field: str | None = None
) -> None:
    """Answer with a problem before the application sees the request (with the same
    `field`, `reason` and `request_id` members as the application's problems)."""
    body = json.dumps(
        {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": scope.get("path"),
            "request_id": scope.get("state", {}).get("request_id"),
            "field": field,
            "reason": detail,
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


class RequestContext:
    """Pure ASGI middleware: a request id on every response, metrics and one access log
    line per request. (Starlette's BaseHTTPMiddleware costs far more per request.)"""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        given = dict(headers).get(b"x-request-id", b"")[:64].decode(errors="replace")
        request_id = given or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if sum(1 for name, _ in headers if name == b"idempotency-key") > 1:
                detail = "send one Idempotency-Key header, not several"
                await refuse(scope, send_with_id, 400, "Bad request", detail)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            self._observe(scope, request_id, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, request_id: str, status: int, elapsed: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        method = scope["method"]
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.latency.labels(route).observe(elapsed)
        if method == "POST" and status == 201:
            self.metrics.events.inc()
        log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": method,
                "path": scope["path"],
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
