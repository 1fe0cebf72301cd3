"""JobService: enqueue, start, complete, fail (then retry or dead-letter), requeue."""

from __future__ import annotations

from typing import Any

from application.services.base import AggregateService, CommandResult, Origin, payload_of
from domain.job import Job


class JobService(AggregateService[Job]):
    aggregate = Job

    def enqueue(
        self,
        job_id: str,
        job_type: str,
        *,
        max_attempts: int = 3,
        session_id: str | None = None,
        origin: Origin | None = None,
    ) -> CommandResult:
        data = {"job_id": job_id, "job_type": job_type, "max_attempts": max_attempts}
        given = origin is not None and origin.event_id is not None
        meta = self.meta(origin, session_id)
        return self.create_from(payload_of(Job.Queued.TYPE, data), meta, given)

    def _do(self, job_id: str, type_name: str, origin: Origin | None, **data: Any) -> CommandResult:
        return self.run(job_id, type_name, {"job_id": job_id, **data}, origin)

    def start(
        self, job_id: str, *, worker_id: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self._do(job_id, Job.Started.TYPE, origin, worker_id=worker_id)

    def complete(
        self, job_id: str, *, result: Any = None, origin: Origin | None = None
    ) -> CommandResult:
        return self._do(job_id, Job.Completed.TYPE, origin, result=result)

    def fail(self, job_id: str, error: str, *, origin: Origin | None = None) -> CommandResult:
        """Record the failure, then retry while attempts remain or dead-letter the job."""
        failed = self._do(job_id, Job.Failed.TYPE, origin, error=error)
        if not failed.written:
            return failed
        job = self.load(job_id)
        follow = Origin(source=(origin or Origin()).source, causation_id=failed.events[0].event_id)
        if job.attempts_left > 0:
            then = self._do(job_id, Job.Retrying.TYPE, follow)
        else:
            then = self._do(
                job_id, Job.DeadLettered.TYPE, follow, reason=f"{job.attempts} attempts failed"
            )
        return CommandResult(failed.events + then.events)

    def retry(
        self, job_id: str, *, delay_seconds: float | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self._do(job_id, Job.Retrying.TYPE, origin, delay_seconds=delay_seconds)

    def dead_letter(
        self, job_id: str, *, reason: str | None = None, origin: Origin | None = None
    ) -> CommandResult:
        return self._do(job_id, Job.DeadLettered.TYPE, origin, reason=reason)

    def requeue(self, job_id: str, *, origin: Origin | None = None) -> CommandResult:
        """Operator action: a dead-lettered job gets a fresh set of attempts."""
        job = self.load(job_id)
        data = {"job_type": job.job_type, "max_attempts": job.max_attempts}
        return self._do(job_id, Job.Requeued.TYPE, origin, **data)
