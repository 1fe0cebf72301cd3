"""The event taxonomy: every registered type, its domain, scope, payload schema and version.

Types are registered under the exact spelling of the seed documents. Three old spellings
(`agent.run_started`, `agent.run_completed`, `agent.run_failed`) resolve to the lifecycle types
and are stored under those. `custom.<name>` is accepted for session-level extension events.
Anything else is refused with an error that lists what is valid.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from domain import payloads as p
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
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


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


def _run_failed_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # v1 producers (the old agent publisher) called the error text `message`.
    upgraded = dict(payload)
    if "error" not in upgraded:
        upgraded["error"] = upgraded.pop("message", None) or "unknown error"
    return upgraded


def _spec(
    name: str, domain: Domain, aggregate: AggregateKind, model: type[p.Payload], **kw: Any
) -> EventTypeSpec:
    return EventTypeSpec(name, domain, aggregate, model, **kw)


_SPECS: tuple[EventTypeSpec, ...] = (
    _spec("run_created", "run", "run", p.RunCreatedPayload),
    _spec("run_started", "run", "run", p.RunStartedPayload),
    _spec("run_waiting_input", "run", "run", p.RunWaitingInputPayload),
    _spec("run_resumed", "run", "run", p.RunResumedPayload),
    _spec("run_completed", "run", "run", p.RunCompletedPayload),
    _spec(
        "run_failed",
        "run",
        "run",
        p.RunFailedPayload,
        schema_version=2,
        upcasters={1: _run_failed_v1_to_v2},
    ),
    _spec("run_cancelled", "run", "run", p.RunCancelledPayload),
    _spec("verify_start", "verify", "run", p.VerifyStartPayload),
    _spec("verify_pass", "verify", "run", p.VerifyPassPayload),
    _spec("verify_fail", "verify", "run", p.VerifyFailPayload),
    _spec("tool_policy_blocked", "policy", "run", p.ToolPolicyPayload),
    _spec("tool_policy_warn", "policy", "run", p.ToolPolicyPayload),
    _spec("agent.tool_called", "agent", "run", p.ToolCalledPayload),
    _spec("agent.tool_completed", "agent", "run", p.ToolCompletedPayload),
    _spec("agent.tool_failed", "agent", "run", p.ToolFailedPayload),
    _spec("agent.thinking", "agent", "run", p.ThinkingPayload),
    _spec("agent.waiting_approval", "agent", "run", p.WaitingApprovalPayload),
    _spec("deal.created", "deal", "deal", p.DealCreatedPayload),
    _spec("deal.updated", "deal", "deal", p.DealUpdatedPayload),
    _spec("deal.stage_changed", "deal", "deal", p.DealStageChangedPayload),
    _spec("deal.profile_enriched", "deal", "deal", p.DealProfileEnrichedPayload),
    _spec("deal.archived", "deal", "deal", p.DealArchivedPayload),
    _spec("action.created", "action", "action", p.ActionCreatedPayload),
    _spec("action.approved", "action", "action", p.ActionApprovedPayload),
    _spec("action.rejected", "action", "action", p.ActionRejectedPayload),
    _spec("action.executing", "action", "action", p.ActionExecutingPayload),
    _spec("action.completed", "action", "action", p.ActionCompletedPayload),
    _spec("action.failed", "action", "action", p.ActionFailedPayload),
    _spec("action.quarantined", "action", "action", p.ActionQuarantinedPayload),
    _spec("worker.job_queued", "worker", "job", p.JobQueuedPayload),
    _spec("worker.job_started", "worker", "job", p.JobStartedPayload),
    _spec("worker.job_completed", "worker", "job", p.JobCompletedPayload),
    _spec("worker.job_failed", "worker", "job", p.JobFailedPayload),
    _spec("worker.job_retrying", "worker", "job", p.JobRetryingPayload),
    _spec("worker.job_dlq", "worker", "job", p.JobDeadLetteredPayload),
    _spec("system.startup", "system", "session", p.SystemPayload),
    _spec("system.shutdown", "system", "session", p.SystemPayload),
    _spec("system.health_check", "system", "session", p.SystemPayload),
    _spec("system.error", "system", "session", p.SystemErrorPayload),
)

REGISTRY: dict[str, EventTypeSpec] = {spec.name: spec for spec in _SPECS}

ALIASES: dict[str, str] = {
    "agent.run_started": "run_started",
    "agent.run_completed": "run_completed",
    "agent.run_failed": "run_failed",
}

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
