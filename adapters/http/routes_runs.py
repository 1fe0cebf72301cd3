"""Run commands (one route per domain command) and the run's current state."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Response

from adapters.http.common import ERRORS, Deps, IdempotencyKey, Reader, Writer
from adapters.http.jsonbody import JsonRoute
from adapters.http.schemas import CommandIn, CommandOut, Key, OptKey
from application.queries import MAX_SEQ
from application.services.base import CommandResult
from application.services.runs import RunView

router = APIRouter(responses=ERRORS, route_class=JsonRoute)
F = TypeVar("F", bound=Callable[..., Any])
RunId = Annotated[str, Path(min_length=1, max_length=64)]


def command(router: APIRouter, path: str, summary: str, tag: str) -> Callable[[F], F]:
    """A command route: 201 with the written envelopes, 200 for a repeat or a no-op."""
    return router.post(
        path,
        summary=summary,
        tags=[tag],
        status_code=201,
        dependencies=Writer,
        responses={200: {"description": "a repeat (same Idempotency-Key) or a no-op"}},
    )


def answer(result: CommandResult, response: Response) -> CommandOut:
    if not result.written:
        response.status_code = 200
    return CommandOut.of(result)


class CreateRunIn(CommandIn):
    run_id: str | None = OptKey
    requires_verification: bool = False
    agent: str | None = None
    input: str | None = None


class StartIn(CommandIn):
    phase: str | None = None


class WaitIn(CommandIn):
    prompt: str | None = None


class ResumeIn(CommandIn):
    input: str | None = None


class CompleteIn(CommandIn):
    output: Any = None


class FailIn(CommandIn):
    error: str
    error_code: str | None = None


class ReasonIn(CommandIn):
    reason: str | None = None


class VerifyStartIn(CommandIn):
    verifier: str | None = None


class VerifyPassIn(CommandIn):
    details: str | None = None


class ToolCallIn(CommandIn):
    tool_call_id: str = Key
    tool_name: str
    arguments: dict[str, Any] | None = None


class ToolDoneIn(CommandIn):
    result: Any = None


class ToolFailIn(CommandIn):
    error: str


class PolicyIn(CommandIn):
    tool_name: str
    tool_call_id: str | None = OptKey
    policy: str | None = None
    reason: str | None = None


class ThinkIn(CommandIn):
    content: str | None = None


class ApprovalIn(CommandIn):
    tool_call_id: str | None = OptKey
    reason: str | None = None


@command(router, "/api/sessions/{session_id}/runs", "Create a run in a session", "runs")
def create_run(
    d: Deps, session_id: RunId, body: CreateRunIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.create_run(
        session_id,
        body.run_id or str(uuid.uuid4()),
        requires_verification=body.requires_verification,
        agent=body.agent,
        input=body.input,
        origin=body.origin(key),
    )
    return answer(result, response)


@command(router, "/api/runs/{run_id}/start", "run_started", "runs")
def start(
    d: Deps, run_id: RunId, body: StartIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.runs.start_run(run_id, phase=body.phase, origin=body.origin(key)), response)


@command(router, "/api/runs/{run_id}/wait-for-input", "run_waiting_input", "runs")
def wait_for_input(
    d: Deps, run_id: RunId, body: WaitIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.wait_for_input(run_id, prompt=body.prompt, origin=body.origin(key))
    return answer(result, response)


@command(router, "/api/runs/{run_id}/resume", "run_resumed", "runs")
def resume(
    d: Deps, run_id: RunId, body: ResumeIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.runs.resume_run(run_id, input=body.input, origin=body.origin(key)), response)


@command(router, "/api/runs/{run_id}/complete", "run_completed", "runs")
def complete(
    d: Deps, run_id: RunId, body: CompleteIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.complete_run(run_id, output=body.output, origin=body.origin(key))
    return answer(result, response)


@command(router, "/api/runs/{run_id}/fail", "run_failed", "runs")
def fail(
    d: Deps, run_id: RunId, body: FailIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.fail_run(
        run_id, body.error, error_code=body.error_code, origin=body.origin(key)
    )
    return answer(result, response)


@command(router, "/api/runs/{run_id}/cancel", "run_cancelled", "runs")
def cancel(
    d: Deps, run_id: RunId, body: ReasonIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.runs.cancel_run(run_id, reason=body.reason, origin=body.origin(key)), response)


@command(router, "/api/runs/{run_id}/verify/start", "verify_start", "runs")
def verify_start(
    d: Deps, run_id: RunId, body: VerifyStartIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.start_verification(run_id, verifier=body.verifier, origin=body.origin(key))
    return answer(result, response)


@command(router, "/api/runs/{run_id}/verify/pass", "verify_pass", "runs")
def verify_pass(
    d: Deps, run_id: RunId, body: VerifyPassIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.pass_verification(run_id, details=body.details, origin=body.origin(key))
    return answer(result, response)


@command(router, "/api/runs/{run_id}/verify/fail", "verify_fail", "runs")
def verify_fail(
    d: Deps, run_id: RunId, body: ReasonIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.fail_verification(run_id, reason=body.reason, origin=body.origin(key))
    return answer(result, response)


@command(router, "/api/runs/{run_id}/tool-calls", "agent.tool_called", "runs")
def call_tool(
    d: Deps, run_id: RunId, body: ToolCallIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.call_tool(
        run_id, body.tool_call_id, body.tool_name, arguments=body.arguments, origin=body.origin(key)
    )
    return answer(result, response)


@command(
    router, "/api/runs/{run_id}/tool-calls/{tool_call_id}/complete", "agent.tool_completed", "runs"
)
def complete_tool(
    d: Deps,
    run_id: RunId,
    tool_call_id: RunId,
    body: ToolDoneIn,
    response: Response,
    key: IdempotencyKey = None,
) -> CommandOut:
    result = d.runs.complete_tool(run_id, tool_call_id, result=body.result, origin=body.origin(key))
    return answer(result, response)


@command(router, "/api/runs/{run_id}/tool-calls/{tool_call_id}/fail", "agent.tool_failed", "runs")
def fail_tool(
    d: Deps,
    run_id: RunId,
    tool_call_id: RunId,
    body: ToolFailIn,
    response: Response,
    key: IdempotencyKey = None,
) -> CommandOut:
    result = d.runs.fail_tool(run_id, tool_call_id, body.error, origin=body.origin(key))
    return answer(result, response)


@command(router, "/api/runs/{run_id}/policy/block", "tool_policy_blocked", "runs")
def block(
    d: Deps, run_id: RunId, body: PolicyIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.block_tool(
        run_id,
        body.tool_name,
        tool_call_id=body.tool_call_id,
        policy=body.policy,
        reason=body.reason,
        origin=body.origin(key),
    )
    return answer(result, response)


@command(router, "/api/runs/{run_id}/policy/warn", "tool_policy_warn", "runs")
def warn(
    d: Deps, run_id: RunId, body: PolicyIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.warn_tool(
        run_id,
        body.tool_name,
        tool_call_id=body.tool_call_id,
        policy=body.policy,
        reason=body.reason,
        origin=body.origin(key),
    )
    return answer(result, response)


@command(router, "/api/runs/{run_id}/thinking", "agent.thinking", "runs")
def think(
    d: Deps, run_id: RunId, body: ThinkIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.runs.think(run_id, content=body.content, origin=body.origin(key)), response)


@command(router, "/api/runs/{run_id}/waiting-approval", "agent.waiting_approval", "runs")
def waiting_approval(
    d: Deps, run_id: RunId, body: ApprovalIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.runs.wait_for_approval(
        run_id, tool_call_id=body.tool_call_id, reason=body.reason, origin=body.origin(key)
    )
    return answer(result, response)


AtSeq = Annotated[
    int | None,
    Query(ge=0, le=MAX_SEQ, description="the run's state as of this session seq (replayed)"),
]


@router.get("/api/runs/{run_id}", dependencies=Reader, summary="A run's state, now or as of a seq")
def get_run(d: Deps, run_id: RunId, at_seq: AtSeq = None) -> RunView:
    return d.runs.get_run(run_id) if at_seq is None else d.runs.get_run_at(run_id, at_seq)
