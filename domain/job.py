"""The Job aggregate: background work with bounded retries, a dead-letter state and requeue."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from eventsourcing.domain import event

from domain import payloads as p
from domain.declared import Declared
from domain.errors import InvalidInput, JobError
from domain.model import (
    AggregateCreated,
    Applied,
    EventMeta,
    ZakopsAggregate,
    aggregate_uuid,
    decide,
    stamp_meta,
)

JobStatus = Literal["queued", "started", "completed", "failed", "retrying", "dlq"]


class Job(ZakopsAggregate):
    """queued -> started -> completed | failed; failed -> retrying -> started while attempts
    remain, else failed -> dlq; an operator may requeue a dead job (dlq -> queued)."""

    TOPIC = "zakops.Job"
    KIND: ClassVar[str] = "job"
    KEY_FIELD: ClassVar[str] = "job_id"  # the payload field naming the aggregate

    class Queued(AggregateCreated, Declared):
        TOPIC: ClassVar[str] = "zakops.Job.Queued"
        TYPE: ClassVar[str] = "worker.job_queued"
        STATUS: ClassVar[str | None] = "queued"
        payload: p.JobQueuedPayload

    class Requeued(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Job.Requeued"
        TYPE: ClassVar[str] = "worker.job_queued"
        STATUS: ClassVar[str | None] = "queued"
        COMMAND: ClassVar[str | None] = "requeue"
        payload: p.JobQueuedPayload

    class Started(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Job.Started"
        TYPE: ClassVar[str] = "worker.job_started"
        STATUS: ClassVar[str | None] = "started"
        COMMAND: ClassVar[str | None] = "start"
        payload: p.JobStartedPayload

    class Completed(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Job.Completed"
        TYPE: ClassVar[str] = "worker.job_completed"
        STATUS: ClassVar[str | None] = "completed"
        COMMAND: ClassVar[str | None] = "complete"
        payload: p.JobCompletedPayload

    class Failed(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Job.Failed"
        TYPE: ClassVar[str] = "worker.job_failed"
        STATUS: ClassVar[str | None] = "failed"
        COMMAND: ClassVar[str | None] = "fail"
        payload: p.JobFailedPayload

    class Retrying(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Job.Retrying"
        TYPE: ClassVar[str] = "worker.job_retrying"
        STATUS: ClassVar[str | None] = "retrying"
        COMMAND: ClassVar[str | None] = "retry"
        payload: p.JobRetryingPayload

    class DeadLettered(ZakopsAggregate.Event, Declared):
        TOPIC: ClassVar[str] = "zakops.Job.DeadLettered"
        TYPE: ClassVar[str] = "worker.job_dlq"
        STATUS: ClassVar[str | None] = "dlq"
        COMMAND: ClassVar[str | None] = "dead_letter"
        payload: p.JobDeadLetteredPayload

    @classmethod
    def create(cls, meta: EventMeta, at: datetime, payload: p.JobQueuedPayload) -> Job:
        stamped = stamp_meta(meta, Job.Queued.TYPE, payload.job_id)
        return cls(id=cls.id_for(payload.job_id), meta=stamped, timestamp=at, payload=payload)

    @staticmethod
    def id_for(job_id: str) -> UUID:
        return aggregate_uuid("job", job_id)

    @event(Queued)
    def __init__(self, id: UUID, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.job_id: str = payload.job_id
        self.job_type: str = payload.job_type
        self.max_attempts: int = payload.max_attempts
        self.attempts: int = 0
        self.status: JobStatus = "queued"
        self.error: str | None = None

    @property
    def key(self) -> str:
        return self.job_id

    @property
    def attempts_left(self) -> int:
        return self.max_attempts - self.attempts

    def _require(self, payload: p.JobPayload, attempted: str, *statuses: JobStatus) -> None:
        if payload.job_id != self.job_id:
            raise InvalidInput("payload.job_id", f"{payload.job_id!r} is not job {self.job_id}")
        if self.status not in statuses:
            why = f"allowed only when {' or '.join(statuses)}"
            if self.status == "completed":
                why = "the job is finished"
            raise JobError(self.job_id, self.status, attempted, why)

    # -- commands ------------------------------------------------------------------------
    def start(self, meta: EventMeta, at: datetime, payload: p.JobStartedPayload) -> Applied:
        check = lambda: self._require(payload, Job.Started.TYPE, "queued", "retrying")  # noqa: E731
        return decide(self, Job.Started.TYPE, meta, at, payload, check, self._started)

    def complete(self, meta: EventMeta, at: datetime, payload: p.JobCompletedPayload) -> Applied:
        check = lambda: self._require(payload, Job.Completed.TYPE, "started")  # noqa: E731
        return decide(self, Job.Completed.TYPE, meta, at, payload, check, self._completed)

    def fail(self, meta: EventMeta, at: datetime, payload: p.JobFailedPayload) -> Applied:
        check = lambda: self._require(payload, Job.Failed.TYPE, "started")  # noqa: E731
        return decide(self, Job.Failed.TYPE, meta, at, payload, check, self._failed)

    def retry(self, meta: EventMeta, at: datetime, payload: p.JobRetryingPayload) -> Applied:
        def check() -> None:
            self._require(payload, Job.Retrying.TYPE, "failed")
            if self.attempts_left <= 0:
                why = f"no attempts left ({self.attempts} of {self.max_attempts} used)"
                raise JobError(self.job_id, self.status, Job.Retrying.TYPE, why)

        return decide(self, Job.Retrying.TYPE, meta, at, payload, check, self._retrying)

    def dead_letter(
        self, meta: EventMeta, at: datetime, payload: p.JobDeadLetteredPayload
    ) -> Applied:
        def check() -> None:
            self._require(payload, Job.DeadLettered.TYPE, "failed")
            if self.attempts_left > 0:
                why = f"{self.attempts_left} attempts are left; retry it instead"
                raise JobError(self.job_id, self.status, Job.DeadLettered.TYPE, why)

        return decide(self, Job.DeadLettered.TYPE, meta, at, payload, check, self._dead_lettered)

    def requeue(self, meta: EventMeta, at: datetime, payload: p.JobQueuedPayload) -> Applied:
        """Operator action: give a dead job a fresh set of attempts."""
        payload = payload.model_copy(update={"requeued": True})
        check = lambda: self._require(payload, Job.Requeued.TYPE, "dlq")  # noqa: E731
        return decide(self, Job.Requeued.TYPE, meta, at, payload, check, self._requeued)

    # -- event application ---------------------------------------------------------------
    @event(Requeued)
    def _requeued(self, meta: EventMeta, timestamp: datetime, payload: p.JobQueuedPayload) -> None:
        self.status = "queued"
        self.attempts = 0
        self.max_attempts = payload.max_attempts
        self.error = None

    @event(Started)
    def _started(self, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.status = "started"
        self.attempts += 1

    @event(Completed)
    def _completed(self, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.status = "completed"

    @event(Failed)
    def _failed(self, meta: EventMeta, timestamp: datetime, payload: p.JobFailedPayload) -> None:
        self.status = "failed"
        self.error = payload.error

    @event(Retrying)
    def _retrying(self, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.status = "retrying"

    @event(DeadLettered)
    def _dead_lettered(self, meta: EventMeta, timestamp: datetime, payload: Any) -> None:
        self.status = "dlq"
