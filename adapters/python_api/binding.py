"""Where the Python API finds the application: factories set by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from application.emitter import Emitter
from application.queries import QueryService


@dataclass(frozen=True)
class Binding:
    emitter: Callable[[], Emitter]
    queries: Callable[[], QueryService]


_binding: list[Binding] = []


def bind(binding: Binding | None) -> None:
    """Set (or clear) the factories; each may build the application on its first call."""
    _binding.clear()
    if binding is not None:
        _binding.append(binding)


def bound() -> Binding:
    if not _binding:
        raise RuntimeError("the Python API is not wired: import it from entrypoints.events")
    return _binding[0]
