"""The envelope: the wire format of an event, with the validation rules of DESIGN.md.

`{type, timestamp, session_id, seq, run_id, event_id, source, position, correlation_id,
causation_id, actor, schema_version, payload}`. `type` must be registered (aliases are stored
under their lifecycle spelling); run-scoped types need `run_id` and `session_id`; `payload` is a
JSON object (never a string) that satisfies its type's schema; `timestamp` is timezone-aware and
kept in UTC; `seq` (per session) and `position` (global) are >= 1 when present.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.errors import InvalidInput
from domain.taxonomy import resolve


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(min_length=1, max_length=100)
    timestamp: datetime
    session_id: str | None = Field(default=None, min_length=1, max_length=64)
    seq: int | None = Field(default=None, ge=1)
    run_id: str | None = Field(default=None, min_length=1, max_length=64)
    event_id: str = Field(min_length=1, max_length=100)
    source: str = Field(min_length=1, max_length=100)
    position: int | None = Field(default=None, ge=1)
    correlation_id: str | None = Field(default=None, max_length=64)
    causation_id: str | None = Field(default=None, max_length=64)
    actor: str | None = Field(default=None, max_length=255)
    schema_version: int = Field(default=1, ge=1)
    payload: dict[str, Any]

    @field_validator("type")
    @classmethod
    def _registered(cls, value: str) -> str:
        try:
            return resolve(value).name
        except InvalidInput as error:
            raise ValueError(error.reason) from None

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must be timezone-aware (UTC), e.g. 2026-02-06T10:00:00Z")
        return value.astimezone(UTC)

    @field_validator("payload", mode="before")
    @classmethod
    def _object(cls, value: object) -> object:
        if isinstance(value, str | bytes):
            raise ValueError("must be a JSON object, not a string")
        return value

    @model_validator(mode="after")
    def _scope_and_schema(self) -> Envelope:
        spec = resolve(self.type)
        if spec.run_scoped and self.run_id is None:
            raise InvalidInput("run_id", f"is required for the run-scoped type {self.type!r}")
        if spec.run_scoped and self.session_id is None:
            raise InvalidInput("session_id", f"is required for the run-scoped type {self.type!r}")
        if self.seq is not None and self.session_id is None:
            raise InvalidInput("seq", "is numbered per session: an event without session has none")
        spec.parse_payload(self.payload)
        return self

    @classmethod
    def trusted(cls, values: dict[str, Any]) -> Envelope:
        """An envelope from values that were validated when their event was made (stored
        events, timeline rows): no second validation. Like `model_construct` with every
        field given, at a fraction of its cost; a unit test keeps the two equal."""
        envelope = object.__new__(cls)
        object.__setattr__(envelope, "__dict__", values)
        object.__setattr__(envelope, "__pydantic_fields_set__", set(_FIELDS))
        object.__setattr__(envelope, "__pydantic_extra__", None)
        object.__setattr__(envelope, "__pydantic_private__", None)
        return envelope

    @classmethod
    def parse(cls, data: object) -> Envelope:
        """Validate raw input; errors become `InvalidInput` naming the field and the reason."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise invalid_input(error) from None


_FIELDS = frozenset(Envelope.model_fields)


def invalid_input(error: ValidationError) -> InvalidInput:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "envelope"
    reason = str(first["msg"]).removeprefix("Value error, ")
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, InvalidInput):
        return cause
    return InvalidInput(field, reason)
