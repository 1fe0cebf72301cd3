"""The event taxonomy: every registered type, its domain, scope, payload schema and version.

The types are declared on the aggregates' event classes (`domain.declared`) and collected
by `domain.catalog` into `REGISTRY`; this module only looks them up.

Types are registered under the exact spelling of the seed documents. Three old spellings
(`agent.run_started`, `agent.run_completed`, `agent.run_failed`) resolve to the lifecycle types
and are stored under those. `custom.<name>` is accepted for session-level extension events.
Anything else is refused with an error that lists what is valid.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from domain import payloads as p
from domain.declared import Upcaster
from domain.errors import InvalidInput, UnknownEventType
from domain.text import check_storable

Domain = Literal[
    "run",
    "verify",
    "policy",
    "agent",
    "deal",
    "action",
    "worker",
    "system",
    "custom",
]
AggregateKind = Literal["run", "deal", "action", "job", "session"]


@dataclass(frozen=True)
class EventTypeSpec:
    """What the registry knows about one event type."""

    name: str
    domain: Domain
    aggregate: AggregateKind
    payload_model: type[p.Payload]
    schema_version: int = 1
    upcasters: dict[int, Upcaster] = field(default_factory=dict)

    @property
    def run_scoped(self) -> bool:
        """Run-scoped types need a `run_id` (and so a session)."""
        return self.aggregate == "run"

    def parse_payload(self, payload: object) -> p.Payload:
        """Validate a payload object against this type's schema (extras are kept)."""
        if isinstance(payload, str | bytes):
            raise InvalidInput("payload", "must be a JSON object, not a string")
        if not isinstance(payload, dict):
            raise InvalidInput("payload", f"must be a JSON object, not {type(payload).__name__}")
        check_storable(payload, "payload")
        from pydantic import ValidationError

        try:
            parsed = self.payload_model.model_validate(payload)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "payload"
            raise InvalidInput(f"payload.{where}", first["msg"]) from None
        for name, limit in parsed.EDGE_LIMITS.items():
            value = getattr(parsed, name, None)
            if isinstance(value, str) and len(value) > limit:
                raise InvalidInput(
                    f"payload.{name}",
                    f"String should have at most {limit} characters (the legacy column's limit)",
                )
        return parsed

    def upcast(self, payload: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Bring a stored payload of an older schema version up to the current one."""
        for version in range(from_version, self.schema_version):
            payload = self.upcasters[version](payload)
        return payload


# Filled from the aggregates' declared event classes (`domain.catalog`) when the `domain`
# package is imported, so before any lookup; never written to afterwards.
REGISTRY: dict[str, EventTypeSpec] = {}
ALIASES: dict[str, str] = {}  # old spelling -> stored type (`agent.run_started` -> run_started)


def register(specs: list[EventTypeSpec], aliases: dict[str, str]) -> None:
    """Install the declared types and old spellings (called once, by `domain/__init__`)."""
    REGISTRY.clear()
    REGISTRY.update((spec.name, spec) for spec in specs)
    ALIASES.clear()
    ALIASES.update(aliases)
    resolve.cache_clear()


CUSTOM_PREFIX = "custom."
_CUSTOM_NAME = re.compile(r"^custom\.[a-z0-9][a-z0-9_.\-]{0,89}$")


@functools.lru_cache(maxsize=4096)
def _custom_spec(name: str) -> EventTypeSpec:
    return EventTypeSpec(name, "custom", "session", p.CustomPayload)


def canonical_name(type_name: str) -> str:
    """The stored spelling of a type: aliases resolved, everything else unchanged."""
    return ALIASES.get(type_name, type_name)


@functools.lru_cache(maxsize=4096)
def resolve(type_name: str) -> EventTypeSpec:
    """Look a type up (aliases and `custom.<name>` included) or raise `UnknownEventType`.
    Cached: the registry is fixed at import (refusals raise, so they are not cached)."""
    name = canonical_name(type_name)
    spec = REGISTRY.get(name)
    if spec is not None:
        return spec
    if name.startswith(CUSTOM_PREFIX):
        if len(name) > 97 or not _CUSTOM_NAME.fullmatch(name):
            raise InvalidInput(
                "type",
                f"{type_name!r} is not a valid custom type: use custom.<name> with lower-case "
                "letters, digits, '_', '-' or '.' (at most 97 characters)",
            )
        return _custom_spec(name)
    raise UnknownEventType(type_name, valid_type_names())


def valid_type_names() -> list[str]:
    """Every registered type and alias, sorted (for error messages and documentation)."""
    return sorted([*REGISTRY, *ALIASES])
