"""Guards of the aggregates and the domain's building blocks, asserted exactly: which
refusal, naming what, with which message; stable aggregate ids; the import-time builders of
the taxonomy and the enums (called again here, as mutation testing needs)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any
from uuid import uuid5

import pytest
from pydantic import BaseModel, ValidationError

from domain import catalog
from domain import payloads as p
from domain.action import Action
from domain.archive import IMPORT_SOURCE, Archive
from domain.deal import Deal
from domain.declared import Upcaster
from domain.envelope import Envelope, invalid_input
from domain.errors import (
    ActionError,
    EventIdConflict,
    InvalidInput,
    JobError,
    NotFound,
    UnknownEventType,
)
from domain.job import Job
from domain.model import ID_NAMESPACE, EventMeta, ZakopsAggregate
from domain.payloads import Payload
from domain.run import Run, _run_failed_v1_to_v2
from domain.session import SYSTEM_LOG, Session
from domain.taxonomy import (
    EventTypeSpec,
    canonical_name,
    resolve,
)
from tests.unit.builders import (
    AT,
    action_command,
    action_in,
    job_command,
    job_in,
    meta,
    new_deal,
    new_job,
    recorded,
    run_in,
)

# -- stable ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aggregate", "kind"),
    [
        (Run, "run"),
        (Deal, "deal"),
        (Action, "action"),
        (Job, "job"),
        (Session, "session"),
        (Archive, "archive"),
    ],
)
def test_aggregate_ids_are_uuid5_of_kind_and_key(aggregate: Any, kind: str) -> None:
    # stored streams are found by these ids: they must never change
    assert aggregate.id_for("K-1") == uuid5(ID_NAMESPACE, f"{kind}:K-1")


def test_create_id_is_refused() -> None:
    with pytest.raises(NotImplementedError, match=r"^aggregates are created with an explicit id$"):
        ZakopsAggregate.create_id()


# -- jobs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "command", "message"),
    [
        (
            "queued",
            "complete",
            "job JOB-1 is queued; cannot apply worker.job_completed: allowed only when started",
        ),
        (
            "queued",
            "fail",
            "job JOB-1 is queued; cannot apply worker.job_failed: allowed only when started",
        ),
        (
            "started",
            "start",
            "job JOB-1 is started; cannot apply worker.job_started: "
            "allowed only when queued or retrying",
        ),
        (
            "completed",
            "start",
            "job JOB-1 is completed; cannot apply worker.job_started: the job is finished",
        ),
        (
            "started",
            "retry",
            "job JOB-1 is started; cannot apply worker.job_retrying: allowed only when failed",
        ),
        (
            "queued",
            "dead_letter",
            "job JOB-1 is queued; cannot apply worker.job_dlq: allowed only when failed",
        ),
        (
            "queued",
            "requeue",
            "job JOB-1 is queued; cannot apply worker.job_queued: allowed only when dlq",
        ),
        (
            "failed_final",
            "retry",
            "job JOB-1 is failed; cannot apply worker.job_retrying: no attempts left (2 of 2 used)",
        ),
        (
            "failed",
            "dead_letter",
            "job JOB-1 is failed; cannot apply worker.job_dlq: "
            "1 attempts are left; retry it instead",
        ),
    ],
)
def test_job_refusals_name_the_state_and_the_event(status: str, command: str, message: str) -> None:
    job = job_in(status)
    with pytest.raises(JobError) as refused:
        job_command(job, command)
    assert str(refused.value) == message
    assert refused.value.key == "JOB-1"
    assert refused.value.current == job.status
    assert refused.value.attempted in message


@pytest.mark.parametrize("command", ["start", "complete", "fail", "retry", "dead_letter"])
def test_a_job_command_for_another_job_is_invalid(command: str) -> None:
    job = job_in(
        {"start": "queued", "retry": "failed", "dead_letter": "failed_final"}.get(
            command, "started"
        )
    )
    job.job_id = "JOB-2"  # the payloads the builder makes name JOB-2 now
    other = new_job()
    calls = {
        "start": lambda: other.start(meta(), AT, p.JobStartedPayload(job_id="JOB-2")),
        "complete": lambda: other.complete(meta(), AT, p.JobCompletedPayload(job_id="JOB-2")),
        "fail": lambda: other.fail(meta(), AT, p.JobFailedPayload(job_id="JOB-2", error="x")),
        "retry": lambda: other.retry(meta(), AT, p.JobRetryingPayload(job_id="JOB-2")),
        "dead_letter": lambda: other.dead_letter(
            meta(), AT, p.JobDeadLetteredPayload(job_id="JOB-2")
        ),
    }
    with pytest.raises(InvalidInput) as refused:
        calls[command]()
    assert refused.value.field == "payload.job_id"
    assert refused.value.reason == "'JOB-2' is not job JOB-1"


def test_a_job_is_created_correlated_with_itself_at_its_time() -> None:
    job = Job.create(
        EventMeta(event_id="q"), AT, p.JobQueuedPayload(job_id="J-9", job_type="t", max_attempts=4)
    )
    [created] = job.collect_events()
    assert created.meta.correlation_id == "J-9"  # type: ignore[attr-defined]
    assert created.timestamp == AT
    assert (job.id, job.job_id, job.max_attempts, job.attempts_left) == (
        Job.id_for("J-9"),
        "J-9",
        4,
        4,
    )


def test_a_requeued_job_starts_over() -> None:
    job = job_in("dlq")
    job_command(job, "requeue")
    assert (job.status, job.attempts, job.attempts_left, job.error) == (
        "queued",
        0,
        3,
        None,
    )  # the payload's max_attempts
    job_command(job, "start")
    assert job.attempts == 1


# -- actions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "command", "message"),
    [
        (
            "approved",
            "approve",
            "action ACT-1 is approved; cannot apply action.approved: "
            "allowed only when created or quarantined",
        ),
        (
            "approved",
            "reject",
            "action ACT-1 is approved; cannot apply action.rejected: "
            "allowed only when created or quarantined",
        ),
        (
            "approved",
            "quarantine",
            "action ACT-1 is approved; cannot apply action.quarantined: allowed only when created",
        ),
        (
            "created",
            "complete",
            "action ACT-1 is created; cannot apply action.completed: allowed only when executing",
        ),
        (
            "created",
            "fail",
            "action ACT-1 is created; cannot apply action.failed: allowed only when executing",
        ),
        (
            "created",
            "execute",
            "action ACT-1 is created; cannot apply action.executing: "
            "allowed only when approved or failed",
        ),
        (
            "rejected",
            "approve",
            "action ACT-1 is rejected; cannot apply action.approved: the action is finished",
        ),
        (
            "completed",
            "execute",
            "action ACT-1 is completed; cannot apply action.executing: the action is finished",
        ),
    ],
)
def test_action_refusals_name_the_state_and_the_event(
    status: str, command: str, message: str
) -> None:
    action = action_in(status)
    with pytest.raises(ActionError) as refused:
        action_command(action, command)
    assert str(refused.value) == message


def test_an_action_without_approval_executes_from_created_up_to_its_limit() -> None:
    action = action_in("created", requires_approval=False)
    action_command(action, "execute")
    action_command(action, "fail")
    action_command(action, "execute")
    action_command(action, "fail")
    assert (action.executions, action.error) == (2, "x")
    with pytest.raises(ActionError) as refused:
        action_command(action, "execute")
    assert str(refused.value) == (
        "action ACT-1 is failed; cannot apply action.executing: it has executed 2 times (max 2)"
    )


@pytest.mark.parametrize(
    "command", ["approve", "reject", "quarantine", "execute", "complete", "fail"]
)
def test_an_action_command_for_another_action_is_invalid(command: str) -> None:
    action = action_in("created")
    action.action_id = "ACT-2"  # the builder's payloads now name ACT-2
    action.__dict__["_key_for_test"] = None
    real = action_in("created")
    calls = {
        "approve": lambda: real.approve(meta(), AT, p.ActionApprovedPayload(action_id="ACT-2")),
        "reject": lambda: real.reject(meta(), AT, p.ActionRejectedPayload(action_id="ACT-2")),
        "quarantine": lambda: real.quarantine(
            meta(), AT, p.ActionQuarantinedPayload(action_id="ACT-2")
        ),
        "execute": lambda: real.execute(meta(), AT, p.ActionExecutingPayload(action_id="ACT-2")),
        "complete": lambda: real.complete(meta(), AT, p.ActionCompletedPayload(action_id="ACT-2")),
        "fail": lambda: real.fail(meta(), AT, p.ActionFailedPayload(action_id="ACT-2", error="x")),
    }
    with pytest.raises(InvalidInput) as refused:
        calls[command]()
    assert refused.value.field == "payload.action_id"
    assert refused.value.reason == "'ACT-2' is not ACT-1"


def test_an_action_is_correlated_with_its_deal_or_itself() -> None:
    with_deal = Action.create(
        EventMeta(event_id="a"),
        AT,
        p.ActionCreatedPayload(action_id="A-1", action_type="t", deal_id="DL-1"),
    )
    alone = Action.create(
        EventMeta(event_id="b"), AT, p.ActionCreatedPayload(action_id="A-2", action_type="t")
    )
    [first] = with_deal.collect_events()
    [second] = alone.collect_events()
    assert first.meta.correlation_id == "DL-1"  # type: ignore[attr-defined]
    assert second.meta.correlation_id == "A-2"  # type: ignore[attr-defined]
    assert first.timestamp == AT
    assert with_deal.id == Action.id_for("A-1")
    with_deal.approve(EventMeta(event_id="c"), AT, p.ActionApprovedPayload(action_id="A-1"))
    alone.approve(EventMeta(event_id="d"), AT, p.ActionApprovedPayload(action_id="A-2"))
    [approved] = with_deal.collect_events()
    [other] = alone.collect_events()
    assert approved.meta.correlation_id == "DL-1"  # type: ignore[attr-defined]
    assert other.meta.correlation_id == "A-2"  # type: ignore[attr-defined]


# -- sessions and archives ---------------------------------------------------------------------


def test_a_session_takes_only_session_level_events_of_its_own() -> None:
    session = Session.create(EventMeta(event_id="a", session_id="s-1"), AT, "custom.x", Payload())
    assert (session.key, session.id, session.counts) == (
        "s-1",
        Session.id_for("s-1"),
        {"custom.x": 1},
    )
    [opened] = session.collect_events()
    assert opened.meta.correlation_id == "s-1"  # type: ignore[attr-defined]
    assert opened.timestamp == AT
    with pytest.raises(InvalidInput) as other_session:
        session.record(EventMeta(event_id="b", session_id="s-2"), AT, "custom.x", Payload())
    assert other_session.value.field == "session_id"
    assert other_session.value.reason == "'s-2' is not s-1"
    with pytest.raises(InvalidInput) as not_session:
        session.record(EventMeta(event_id="c", session_id="s-1"), AT, "deal.created", Payload())
    assert (not_session.value.field, not_session.value.reason) == (
        "type",
        "'deal.created' is not a session-level event type",
    )
    with pytest.raises(InvalidInput):
        Session.create(EventMeta(event_id="d"), AT, "run_started", Payload())
    applied = session.record(EventMeta(event_id="e", session_id="s-1"), AT, "custom.x", Payload())
    [recorded] = session.collect_events()
    assert recorded.meta.correlation_id == "s-1"  # type: ignore[attr-defined]
    again = session.record(EventMeta(event_id="e", session_id="s-1"), AT, "custom.x", Payload())
    assert applied.new and not again.new and again.version == applied.version
    assert session.counts == {"custom.x": 2}
    system = Session.create(EventMeta(event_id="f"), AT, "system.startup", Payload())
    assert system.key == SYSTEM_LOG
    [started] = system.collect_events()
    assert started.meta.correlation_id is None  # type: ignore[attr-defined]


def test_an_archive_keeps_imported_metadata_and_counts_once() -> None:
    archive = Archive.create("agent_events", AT)
    [opened] = archive.collect_events()
    assert opened.meta == EventMeta(event_id="archive:agent_events", source=IMPORT_SOURCE)  # type: ignore[attr-defined]
    assert (opened.timestamp, opened.originator_id) == (AT, Archive.id_for("agent_events"))
    assert (archive.key, archive.imported) == ("agent_events", 0)
    old = EventMeta(event_id="x-1", source=IMPORT_SOURCE, session_id="s", correlation_id="c")
    at = datetime(2020, 1, 1, tzinfo=AT.tzinfo)
    first = archive.record(old, at, "custom.legacy.note", Payload.model_validate({"n": 1}))
    again = archive.record(old, at, "custom.legacy.note", Payload.model_validate({"n": 1}))
    assert (first.new, again.new, again.version, archive.imported) == (True, False, 2, 1)
    [imported] = archive.collect_events()
    assert imported.meta == old  # type: ignore[attr-defined]  # not stamped
    assert (imported.timestamp, imported.event_type) == (at, "custom.legacy.note")  # type: ignore[attr-defined]


# -- errors ------------------------------------------------------------------------------------


def test_error_messages() -> None:
    assert str(EventIdConflict("e-1")) == "event_id 'e-1' was already used for a different event"
    conflict = EventIdConflict("e-1", "it was x")
    assert str(conflict) == "event_id 'e-1' was already used for a different event: it was x"
    assert conflict.event_id == "e-1"
    missing = NotFound("run", "r-1")
    assert (str(missing), missing.kind, missing.key) == ("run r-1 not found", "run", "r-1")
    unknown = UnknownEventType("nope", ["a", "b"])
    assert unknown.field == "type"
    assert (unknown.type_name, unknown.valid) == ("nope", ["a", "b"])
    assert unknown.reason == (
        "unknown event type 'nope'; valid types are: a, b"
        " (or custom.<name> for session-level events)"
    )


# -- the envelope's errors ---------------------------------------------------------------------


def test_invalid_input_names_the_field_and_the_reason() -> None:
    class Model(BaseModel):
        count: int

    try:
        Model.model_validate({"count": "many"})
    except ValidationError as error:
        found = invalid_input(error)
    assert (found.field, found.reason) == ("count", str(found.reason))
    assert "integer" in found.reason

    class Outer(BaseModel):
        inner: Model

    try:
        Outer.model_validate({"inner": {"count": "many"}})
    except ValidationError as error:
        nested = invalid_input(error)
    assert nested.field == "inner.count"
    with pytest.raises(InvalidInput) as raised:
        Envelope.parse(
            {
                "type": "run_started",
                "timestamp": AT,
                "event_id": "e",
                "source": "s",
                "payload": {},
                "session_id": "s-1",
            }
        )
    # the rule's own InvalidInput comes through unchanged
    assert (raised.value.field, raised.value.reason) == (
        "run_id",
        "is required for the run-scoped type 'run_started'",
    )
    with pytest.raises(InvalidInput) as naive:
        Envelope.parse(
            {
                "type": "deal.created",
                "timestamp": "2026-01-01T00:00:00",
                "event_id": "e",
                "source": "s",
                "payload": {"deal_id": "D", "name": "n"},
            }
        )
    assert naive.value.field == "timestamp"
    assert naive.value.reason == "must be timezone-aware (UTC), e.g. 2026-02-06T10:00:00Z"
    with pytest.raises(InvalidInput) as whole:
        Envelope.parse("not a mapping")
    assert whole.value.field == "envelope"


# -- the taxonomy's builders -------------------------------------------------------------------


def test_a_declared_event_class_gives_every_field_of_its_spec() -> None:
    upcasters: dict[int, Upcaster] = {1: _run_failed_v1_to_v2}
    failed = catalog.spec_of(Run, Run.Failed)
    assert failed == EventTypeSpec("run_failed", "run", "run", p.RunFailedPayload, 2, upcasters)
    assert catalog.spec_of(Run, Run.Started).schema_version == 1
    assert catalog.spec_of(Run, Run.VerificationPassed).domain == "verify"
    assert resolve("run_failed") == failed


def test_canonical_names() -> None:
    assert canonical_name("agent.run_failed") == "run_failed"
    assert canonical_name("custom.x") == "custom.x"


def test_parse_payload_errors_name_the_field() -> None:
    spec = resolve("deal.created")
    with pytest.raises(InvalidInput) as missing:
        spec.parse_payload({"deal_id": "D"})
    assert (missing.value.field, missing.value.reason) == ("payload.name", "Field required")
    with pytest.raises(InvalidInput) as text:
        spec.parse_payload("{}")
    assert (text.value.field, text.value.reason) == (
        "payload",
        "must be a JSON object, not a string",
    )
    with pytest.raises(InvalidInput) as listed:
        spec.parse_payload([1])
    assert listed.value.reason == "must be a JSON object, not list"
    with pytest.raises(InvalidInput) as nul:
        spec.parse_payload({"deal_id": "D", "name": "a\x00"})
    assert nul.value.field.startswith("payload")


def test_edge_limits_are_the_legacy_columns() -> None:
    spec = resolve("run_created")
    [(name, limit)] = p.RunCreatedPayload.EDGE_LIMITS.items()
    base: dict[str, object] = {}
    assert spec.parse_payload({**base, name: "x" * limit})
    with pytest.raises(InvalidInput) as refused:
        spec.parse_payload({**base, name: "x" * (limit + 1)})
    assert refused.value.field == f"payload.{name}"
    assert refused.value.reason == (
        f"String should have at most {limit} characters (the legacy column's limit)"
    )


def test_the_enum_builders() -> None:
    # private helpers the .pyi stub does not declare
    event_types: Any = importlib.import_module("domain.event_types")
    _prefixed, _lifecycle = event_types._prefixed, event_types._lifecycle
    assert _prefixed("system.") == {
        "ERROR": "system.error",
        "HEALTH_CHECK": "system.health_check",
        "SHUTDOWN": "system.shutdown",
        "STARTUP": "system.startup",
    }
    assert _prefixed("agent.")["RUN_STARTED"] == "agent.run_started"
    assert _lifecycle("verify") == {
        "VERIFY_START": "verify_start",
        "VERIFY_PASS": "verify_pass",
        "VERIFY_FAIL": "verify_fail",
    }
    assert set(_lifecycle("run", "policy")) >= {"RUN_CREATED", "TOOL_POLICY_WARN"}


def test_a_bad_value_under_a_none_key_names_its_whole_path() -> None:
    from domain.text import check_storable

    with pytest.raises(InvalidInput) as refused:
        check_storable({"a": {None: {"x": "bad\x00"}}}, "payload")
    assert refused.value.field == "payload.a.None.x"


# -- copies out of the cache ---------------------------------------------------------------------


def test_a_copy_shares_no_state_a_command_can_change() -> None:
    import copy

    deal = new_deal()
    deal.enrich(
        meta(), AT, p.DealProfileEnrichedPayload(deal_id="DL-0001", profile={"a": {"b": [1]}})
    )
    twin = copy.deepcopy(deal)
    assert type(twin) is Deal and twin is not deal
    assert vars(twin).keys() == vars(deal).keys()
    assert twin.profile == deal.profile and twin.recent_ids == deal.recent_ids
    twin.profile["a"]["b"].append(2)  # nested JSON: copied all the way down
    twin.recent_ids["new"] = 99  # flat dicts: copied one level
    assert deal.profile == {"a": {"b": [1]}}
    assert "new" not in deal.recent_ids
    assert twin.deal_id == deal.deal_id and twin.version == deal.version
    run = run_in("running")
    run.call_tool(meta(), AT, p.ToolCalledPayload(tool_call_id="t-1", tool_name="x"))
    run_twin = copy.deepcopy(run)
    run_twin.tool_calls["t-2"] = "open"
    assert "t-2" not in run.tool_calls
    assert run_twin.open_tool_calls == ["t-1", "t-2"] and run.open_tool_calls == ["t-1"]


# -- deals ---------------------------------------------------------------------------------------


def test_deal_refusals_name_the_state_and_the_reason() -> None:
    from domain.errors import DealArchived, DealError

    deal = new_deal("inbound")
    with pytest.raises(DealError) as skipped:
        deal.move_to(meta(), AT, p.DealStageChangedPayload(deal_id="DL-0001", to_stage="loi"))
    assert str(skipped.value) == (
        "deal DL-0001 is inbound; cannot apply deal.stage_changed: "
        "inbound -> loi is not allowed (allowed: archived, junk, screening)"
    )
    with pytest.raises(DealError) as expected:
        deal.move_to(
            meta(),
            AT,
            p.DealStageChangedPayload(deal_id="DL-0001", to_stage="junk", from_stage="loi"),
        )
    assert str(expected.value) == (
        "deal DL-0001 is inbound; cannot apply deal.stage_changed: the request expected it in loi"
    )
    deal.archive(meta(), AT, p.DealArchivedPayload(deal_id="DL-0001"))
    commands: list[tuple[str, Callable[[], object]]] = [
        ("deal.updated", lambda: deal.update(meta(), AT, p.DealUpdatedPayload(deal_id="DL-0001"))),
        (
            "deal.stage_changed",
            lambda: deal.move_to(
                meta(), AT, p.DealStageChangedPayload(deal_id="DL-0001", to_stage="inbound")
            ),
        ),
        (
            "deal.archived",
            lambda: deal.archive(meta(), AT, p.DealArchivedPayload(deal_id="DL-0001")),
        ),
    ]
    for attempt, command in commands:
        with pytest.raises(DealArchived) as refused:
            command()
        assert str(refused.value) == (
            f"deal DL-0001 is archived; cannot apply {attempt}: archived is terminal"
        )


@pytest.mark.parametrize("command", ["update", "move_to", "enrich", "archive"])
def test_a_deal_command_for_another_deal_is_invalid(command: str) -> None:
    deal = new_deal("inbound")
    payloads = {
        "update": p.DealUpdatedPayload(deal_id="DL-2"),
        "move_to": p.DealStageChangedPayload(deal_id="DL-2", to_stage="screening"),
        "enrich": p.DealProfileEnrichedPayload(deal_id="DL-2", profile={}),
        "archive": p.DealArchivedPayload(deal_id="DL-2"),
    }
    with pytest.raises(InvalidInput) as refused:
        getattr(deal, command)(meta(), AT, payloads[command])
    assert (refused.value.field, refused.value.reason) == (
        "payload.deal_id",
        "'DL-2' is not deal DL-0001",
    )
    assert deal.version == 1


def test_a_nested_payload_error_names_its_path() -> None:
    spec = resolve("agent.tool_called")
    with pytest.raises(InvalidInput) as refused:
        spec.parse_payload({"tool_call_id": "t", "tool_name": "n", "arguments": {1: "x"}})
    assert (refused.value.field, refused.value.reason) == (
        "payload.arguments.1.[key]",
        "Input should be a valid string",
    )


def test_bare_values_are_refused_under_their_own_field() -> None:
    from domain.text import NOT_FINITE_REASON, check_storable

    with pytest.raises(InvalidInput) as text:
        check_storable("a\x00", "actor")
    assert (text.value.field, text.value.reason) == (
        "actor",
        "must not contain the NUL character (U+0000)",
    )
    with pytest.raises(InvalidInput) as number:
        check_storable(float("inf"), "score")
    assert (number.value.field, number.value.reason) == ("score", NOT_FINITE_REASON)


# -- runs ----------------------------------------------------------------------------------------


def _run_with_tools() -> Run:
    """Running, tool call t-1 completed, t-2 blocked by policy."""
    run = run_in("running")
    run.call_tool(meta(), AT, p.ToolCalledPayload(tool_call_id="t-1", tool_name="x"))
    run.complete_tool(meta(), AT, p.ToolCompletedPayload(tool_call_id="t-1"))
    run.block_tool(meta(), AT, p.ToolPolicyPayload(tool_call_id="t-2", tool_name="x"))
    return run


def _verifying(outcome: str) -> Run:
    run = run_in("running")
    run.start_verification(meta(), AT)
    if outcome == "failed":
        run.fail_verification(meta(), AT)
    return run


RUN_REFUSALS: list[tuple[str, Callable[[], object], str]] = [
    (
        "RunError",
        lambda: run_in("waiting_input").complete_tool(
            meta(), AT, p.ToolCompletedPayload(tool_call_id="t-1")
        ),
        "run run-1 is waiting_input; cannot apply agent.tool_completed: allowed only when running",
    ),
    (
        "RunError",
        lambda: run_in("queued").pass_verification(meta(), AT),
        "run run-1 is queued; cannot apply verify_pass: allowed only when running",
    ),
    (
        "VerificationGateClosed",
        lambda: _verifying("open").complete(meta(), AT),
        "run run-1 is running; cannot apply run_completed: a verification is still open",
    ),
    (
        "VerificationGateClosed",
        lambda: _verifying("failed").complete(meta(), AT),
        "run run-1 is running; cannot apply run_completed: the last verification failed",
    ),
    (
        "VerificationGateClosed",
        lambda: run_in("running", requires_verification=True).complete(meta(), AT),
        "run run-1 is running; cannot apply run_completed: the run requires a passed verification",
    ),
    (
        "RunError",
        lambda: _verifying("open").start_verification(meta(), AT),
        "run run-1 is running; cannot apply verify_start: a verification is already open",
    ),
    (
        "RunError",
        lambda: run_in("running").pass_verification(meta(), AT),
        "run run-1 is running; cannot apply verify_pass: no verification is open",
    ),
    (
        "RunError",
        lambda: run_in("running").fail_verification(meta(), AT),
        "run run-1 is running; cannot apply verify_fail: no verification is open",
    ),
    (
        "RunAlreadyFinished",
        lambda: run_in("completed").think(meta(), AT),
        "run run-1 is completed; cannot apply agent.thinking: the run is finished",
    ),
    (
        "RunError",
        lambda: run_in("queued").start_verification(meta(), AT),
        "run run-1 is queued; cannot apply verify_start: allowed only when running",
    ),
    (
        "RunError",
        lambda: run_in("queued").complete(meta(), AT),
        "run run-1 is queued; cannot apply run_completed: allowed only when running",
    ),
    (
        "ToolCallRefused",
        lambda: _run_with_tools().call_tool(
            meta(), AT, p.ToolCalledPayload(tool_call_id="t-1", tool_name="x")
        ),
        "run run-1 is running; cannot apply agent.tool_called: "
        "tool_call_id 't-1' is already used in this run",
    ),
    (
        "ToolCallRefused",
        lambda: _run_with_tools().complete_tool(
            meta(), AT, p.ToolCompletedPayload(tool_call_id="t-1")
        ),
        "run run-1 is running; cannot apply agent.tool_completed: "
        "tool call 't-1' cannot take it: it is already completed",
    ),
    (
        "ToolCallRefused",
        lambda: _run_with_tools().fail_tool(
            meta(), AT, p.ToolFailedPayload(tool_call_id="t-1", error="e")
        ),
        "run run-1 is running; cannot apply agent.tool_failed: "
        "tool call 't-1' cannot take it: it is already completed",
    ),
    (
        "ToolCallRefused",
        lambda: _run_with_tools().block_tool(
            meta(), AT, p.ToolPolicyPayload(tool_call_id="t-1", tool_name="x")
        ),
        "run run-1 is running; cannot apply tool_policy_blocked: "
        "tool call 't-1' is already completed",
    ),
    (
        "ToolCallRefused",
        lambda: _run_with_tools().complete_tool(
            meta(), AT, p.ToolCompletedPayload(tool_call_id="t-9")
        ),
        "run run-1 is running; cannot apply agent.tool_completed: no tool call 't-9' is open",
    ),
    (
        "ToolCallRefused",
        lambda: _run_with_tools().complete_tool(
            meta(), AT, p.ToolCompletedPayload(tool_call_id="t-2")
        ),
        "run run-1 is running; cannot apply agent.tool_completed: "
        "tool call 't-2' cannot take it: it was blocked by policy",
    ),
]


@pytest.mark.parametrize(("error", "command", "message"), RUN_REFUSALS)
def test_run_refusals_name_the_state_the_event_and_the_reason(
    error: str, command: Callable[[], object], message: str
) -> None:
    from domain.errors import RunError

    with pytest.raises(RunError) as refused:
        command()
    assert type(refused.value).__name__ == error
    assert str(refused.value) == message
    assert refused.value.key == "run-1"


def test_a_blocked_tool_call_may_still_fail_and_unknown_ones_be_blocked() -> None:
    run = _run_with_tools()
    run.fail_tool(meta(), AT, p.ToolFailedPayload(tool_call_id="t-2", error="e"))
    run.block_tool(meta(), AT, p.ToolPolicyPayload(tool_call_id="t-3", tool_name="x"))
    run.block_tool(meta(), AT, p.ToolPolicyPayload(tool_name="x"))  # no call named
    assert run.tool_calls == {"t-1": "completed", "t-2": "failed", "t-3": "blocked"}


def test_run_metadata_and_times_are_checked() -> None:
    run = run_in("running")
    with pytest.raises(InvalidInput) as other_run:
        run.think(EventMeta(event_id="z1", run_id="r-other"), AT)
    assert (other_run.value.field, other_run.value.reason) == (
        "run_id",
        "'r-other' does not match run run-1",
    )
    with pytest.raises(InvalidInput) as other_session:
        run.think(EventMeta(event_id="z2", session_id="s-other"), AT)
    assert other_session.value.field == "session_id"
    with pytest.raises(InvalidInput) as naive:
        run.think(meta(), datetime(2026, 1, 1))
    assert (naive.value.field, naive.value.reason) == (
        "timestamp",
        "must be timezone-aware (UTC)",
    )

    class NoOffset(tzinfo):
        """A tzinfo that knows no offset: the time is as good as naive."""

        def utcoffset(self, dt: datetime | None) -> timedelta | None:
            return None

        def dst(self, dt: datetime | None) -> timedelta | None:
            return None

        def tzname(self, dt: datetime | None) -> str | None:
            return None

    with pytest.raises(InvalidInput):
        run.think(meta(), datetime(2026, 1, 1, tzinfo=NoOffset()))
    for given, field in (
        (EventMeta(event_id="c1", session_id="s"), "run_id"),
        (EventMeta(event_id="c2", run_id="r"), "session_id"),
    ):
        with pytest.raises(InvalidInput) as missing:
            Run.create(given, AT, p.RunCreatedPayload())
        assert (missing.value.field, missing.value.reason) == (field, "is required for run_created")
    created = Run.create(
        EventMeta(event_id="c3", session_id="s", run_id="r"), AT, p.RunCreatedPayload()
    )
    [event] = created.collect_events()
    assert event.meta.correlation_id == "r"  # type: ignore[attr-defined]
    failed = run_in("running")
    failed.fail(meta(), AT, p.RunFailedPayload(error="x"))
    assert recorded(failed)[-1].meta.schema_version == 2  # run_failed's current version


def test_refusal_texts_and_old_snapshot_state() -> None:
    from domain.errors import RunError

    bare = RunError("r-1", "queued", "run_completed")
    assert (str(bare), bare.why) == ("run r-1 is queued; cannot apply run_completed", "")
    told = RunError("r-1", "queued", "run_completed", "not yet")
    assert (str(told), told.why) == (
        "run r-1 is queued; cannot apply run_completed: not yet",
        "not yet",
    )
    run = run_in("running")
    del run.__dict__["recent_ids"]  # a snapshot older than the window of ids
    run.__dict__["applied_ids"] = {"x": 1}
    assert run.already_applied(EventMeta(event_id="x")) is None
    run.think(EventMeta(event_id="y"), AT)
    assert "applied_ids" not in run.__dict__
    assert run.recent_ids == {"y": run.version}
    with pytest.raises(InvalidInput) as archived:
        Deal.create(
            meta(),
            AT,
            p.DealCreatedPayload.model_validate({"deal_id": "D", "name": "n", "stage": "archived"}),
        )
    assert (archived.value.field, archived.value.reason) == (
        "payload.stage",
        "a deal cannot be created archived",
    )
    deal = new_deal()
    assert deal.collect_events()[0].timestamp == AT
