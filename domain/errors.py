"""The typed error hierarchy of the domain. Adapters map these to HTTP statuses / exit codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""


class InvalidInput(DomainError, ValueError):
    """Input that breaks a rule of the taxonomy or the envelope; nothing is written."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnknownEventType(InvalidInput):
    """A type that is neither registered, nor an old alias, nor `custom.<name>`."""

    def __init__(self, type_name: str, valid: list[str]) -> None:
        super().__init__(
            "type",
            f"unknown event type {type_name!r}; valid types are: {', '.join(valid)}"
            " (or custom.<name> for session-level events)",
        )
        self.type_name = type_name
        self.valid = valid


class TransitionRefused(DomainError):
    """A command that the aggregate's lifecycle does not allow in its current state."""

    aggregate_kind = "aggregate"

    def __init__(self, key: str, current: str, attempted: str, why: str = "") -> None:
        message = f"{self.aggregate_kind} {key} is {current}; cannot apply {attempted}"
        super().__init__(f"{message}: {why}" if why else message)
        self.key = key
        self.current = current
        self.attempted = attempted
        self.why = why


class RunError(TransitionRefused):
    aggregate_kind = "run"


class RunAlreadyFinished(RunError):
    """The run is completed, failed or cancelled: nothing more may happen to it."""


class VerificationGateClosed(RunError):
    """Completion refused by the verify gate (open, failed, or required and missing)."""


class ToolCallRefused(RunError):
    """A tool call event that names an unknown, closed, duplicate or blocked tool call."""


class DealError(TransitionRefused):
    aggregate_kind = "deal"


class DealArchived(DealError):
    """`archived` is terminal."""


class ActionError(TransitionRefused):
    aggregate_kind = "action"


class JobError(TransitionRefused):
    aggregate_kind = "job"


class EventIdConflict(DomainError):
    """An event_id already applied with other content (type or payload)."""

    def __init__(self, event_id: str, detail: str = "") -> None:
        msg = f"event_id {event_id!r} was already used for a different event"
        super().__init__(f"{msg}: {detail}" if detail else msg)
        self.event_id = event_id


class AlreadyExists(DomainError):
    """A create command for an aggregate that exists (and was not created by this event_id)."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key} already exists")
        self.kind = kind
        self.key = key


class NotFound(DomainError):
    """The aggregate or event asked for does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key} not found")
        self.kind = kind
        self.key = key


class ConcurrencyConflict(DomainError):
    """Optimistic concurrency kept failing after the bounded number of retries."""
