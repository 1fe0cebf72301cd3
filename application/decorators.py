"""Integration decorators for existing code, as in the first seed document.

    @emit_deal_event("deal.updated")
    async def update_deal(deal_id: str, updates: dict) -> dict:
        ...
        return {"deal_id": deal_id, **updated}

The wrapped function runs first; its result (a mapping) becomes the event's payload, and the
event is emitted through the emitter given to `use_emitter`: the composition root gives a
factory that builds the application from the settings on the first emission
(`entrypoints/container.py`, `wire_python_api`), so nothing needs configuring by hand.
Sync and async functions both work; an async function emits from a worker thread so the
event loop is not blocked. If emission fails the error propagates: the caller must know that
the event was not recorded.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from application.emitter import Emitted, Emitter
from domain.errors import InvalidInput
from domain.taxonomy import resolve

F = TypeVar("F", bound=Callable[..., Any])
_emitter: list[Callable[[], Emitter]] = []


def use_emitter(emitter: Emitter | Callable[[], Emitter] | None) -> None:
    """Set (or clear) the emitter the decorators emit through, or a factory called on each
    emission (it may build the application on first use and return the same one after)."""
    _emitter.clear()
    if isinstance(emitter, Emitter):
        _emitter.append(lambda: emitter)
    elif emitter is not None:
        _emitter.append(emitter)


def _emit(type_name: str, result: object, source: str) -> Emitted:
    if not _emitter:
        raise RuntimeError("no emitter: import entrypoints.events (it wires the decorators)")
    if not isinstance(result, Mapping):
        raise InvalidInput("payload", f"{type_name} needs a mapping result to emit")
    payload = {k: (str(v) if k.endswith("_id") and v is not None else v) for k, v in result.items()}
    return _emitter[0]().emit(
        type_name, payload, source=source, correlation_id=payload.get("deal_id")
    )


def _decorator(type_name: str, domain: str, source: str) -> Callable[[F], F]:
    if resolve(type_name).domain != domain:
        raise InvalidInput("type", f"{type_name!r} is not a {domain}.* event type")

    def decorate(function: F) -> F:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                result = await function(*args, **kwargs)
                await asyncio.to_thread(_emit, type_name, result, source)
                return result

            return cast(F, async_wrapper)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            _emit(type_name, result, source)
            return result

        return cast(F, wrapper)

    return decorate


def emit_deal_event(type_name: str, source: str = "deal_lifecycle") -> Callable[[F], F]:
    """Emit `type_name` (a `deal.*` type) with the function's result as payload."""
    return _decorator(type_name, "deal", source)


def emit_action_event(type_name: str, source: str = "action_engine") -> Callable[[F], F]:
    """Emit `type_name` (an `action.*` type) with the function's result as payload."""
    return _decorator(type_name, "action", source)
