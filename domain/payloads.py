"""Typed payload schemas, one per registered event type.

Required fields are checked; unknown extra fields are kept (`extra="allow"`), so producers can
send more than the schema names without losing it. Payloads are immutable values.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

DealStage = Literal[
    "inbound",
    "screening",
    "qualified",
    "loi",
    "diligence",
    "closing",
    "portfolio",
    "junk",
    "archived",
]

Key = Field(min_length=1, max_length=64)
# Names the legacy tables hold in varchar(64) columns (agent_runs.assistant_id and
# error_code, actions.reviewed_by and rejected_by): a name cut short could name someone
# else, so a new event is refused above that length (architecture.md, legacy fields).
LEGACY_NAME = 64


class Payload(BaseModel):
    """Base of every payload: a JSON object whose extra fields are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    # Text fields refused over a length when an event is made (`EventTypeSpec.parse_payload`,
    # the path of every face), not when a stored one is read back: history written before a
    # limit existed stays readable (the legacy projection parks what it cannot hold).
    EDGE_LIMITS: ClassVar[dict[str, int]] = {}


# --- run lifecycle -------------------------------------------------------------------------
class RunCreatedPayload(Payload):
    EDGE_LIMITS: ClassVar[dict[str, int]] = {"agent": LEGACY_NAME}

    requires_verification: bool = False
    agent: str | None = None
    input: str | None = None


class RunStartedPayload(Payload):
    phase: str | None = None


class RunWaitingInputPayload(Payload):
    prompt: str | None = None


class RunResumedPayload(Payload):
    input: str | None = None


class RunCompletedPayload(Payload):
    output: Any = None


class RunFailedPayload(Payload):
    EDGE_LIMITS: ClassVar[dict[str, int]] = {"error_code": LEGACY_NAME}

    error: str = Field(min_length=1)
    error_code: str | None = None


class RunCancelledPayload(Payload):
    reason: str | None = None


# --- verify gate and tool policy -------------------------------------------------------------
class VerifyStartPayload(Payload):
    verifier: str | None = None


class VerifyPassPayload(Payload):
    details: str | None = None


class VerifyFailPayload(Payload):
    reason: str | None = None


class ToolPolicyPayload(Payload):
    tool_name: str = Field(min_length=1)
    tool_call_id: str | None = Field(default=None, min_length=1, max_length=64)
    policy: str | None = None
    reason: str | None = None


# --- agent activity --------------------------------------------------------------------------
class ToolCalledPayload(Payload):
    tool_call_id: str = Key
    tool_name: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolCompletedPayload(Payload):
    tool_call_id: str = Key
    result: Any = None


class ToolFailedPayload(Payload):
    tool_call_id: str = Key
    error: str = Field(min_length=1)


class ThinkingPayload(Payload):
    content: str | None = None


class WaitingApprovalPayload(Payload):
    tool_call_id: str | None = Field(default=None, min_length=1, max_length=64)
    reason: str | None = None


# --- deals ---------------------------------------------------------------------------------
class DealPayload(Payload):
    deal_id: str = Field(min_length=1, max_length=20)


class DealCreatedPayload(DealPayload):
    name: str = Field(min_length=1, max_length=255)
    stage: DealStage = "inbound"
    display_name: str | None = None


class DealUpdatedPayload(DealPayload):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    display_name: str | None = None


class DealStageChangedPayload(DealPayload):
    DERIVED: ClassVar[frozenset[str]] = frozenset({"from_stage"})  # filled in by the Deal

    to_stage: DealStage
    from_stage: DealStage | None = None
    reason: str | None = None


class DealProfileEnrichedPayload(DealPayload):
    profile: dict[str, Any] = Field(default_factory=dict)


class DealArchivedPayload(DealPayload):
    reason: str | None = None


# --- actions -------------------------------------------------------------------------------
class ActionPayload(Payload):
    action_id: str = Field(min_length=1, max_length=50)


class ActionCreatedPayload(ActionPayload):
    action_type: str = Field(min_length=1, max_length=100)
    deal_id: str | None = Field(default=None, min_length=1, max_length=20)
    title: str | None = None
    requires_approval: bool = True
    max_executions: int = Field(default=3, ge=1, le=100)


class ActionApprovedPayload(ActionPayload):
    EDGE_LIMITS: ClassVar[dict[str, int]] = {"approved_by": LEGACY_NAME}

    approved_by: str | None = None
    reason: str | None = None


class ActionRejectedPayload(ActionPayload):
    EDGE_LIMITS: ClassVar[dict[str, int]] = {"rejected_by": LEGACY_NAME}

    rejected_by: str | None = None
    reason: str | None = None


class ActionExecutingPayload(ActionPayload):
    pass


class ActionCompletedPayload(ActionPayload):
    result: dict[str, Any] = Field(default_factory=dict)


class ActionFailedPayload(ActionPayload):
    error: str = Field(min_length=1)


class ActionQuarantinedPayload(ActionPayload):
    reason: str | None = None


# --- worker jobs ---------------------------------------------------------------------------
class JobPayload(Payload):
    job_id: str = Key


class JobQueuedPayload(JobPayload):
    job_type: str = Field(min_length=1, max_length=100)
    max_attempts: int = Field(default=3, ge=1, le=100)
    requeued: bool = False
    DERIVED: ClassVar[frozenset[str]] = frozenset({"requeued"})  # set by the Job on a requeue


class JobStartedPayload(JobPayload):
    worker_id: str | None = None


class JobCompletedPayload(JobPayload):
    result: Any = None


class JobFailedPayload(JobPayload):
    error: str = Field(min_length=1)


class JobRetryingPayload(JobPayload):
    delay_seconds: float | None = Field(default=None, ge=0)


class JobDeadLetteredPayload(JobPayload):
    reason: str | None = None


# --- system and extension ------------------------------------------------------------------
class SystemPayload(Payload):
    message: str | None = None
    component: str | None = None


class SystemErrorPayload(SystemPayload):
    error: str = Field(min_length=1)


class CustomPayload(Payload):
    """`custom.<name>`: any JSON object."""
