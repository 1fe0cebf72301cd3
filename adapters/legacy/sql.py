"""SQL of the legacy projection. Inserts of foreign-key rows never touch an existing row;
updates touch only rows this projection created (listed in `legacy_rows`)."""

from __future__ import annotations

SCHEMA = "zakops_projection"

BOOKKEEPING_DDL = [
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.legacy_tracking ("
    "name varchar(64) PRIMARY KEY, position bigint NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.legacy_rows ("
    "table_name varchar(32) NOT NULL, row_key varchar(120) NOT NULL, "
    "PRIMARY KEY (table_name, row_key))",
]


def _owned(table: str, key: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM {SCHEMA}.legacy_rows o WHERE o.table_name = '{table}' "
        f"AND o.row_key = {key})"
    )


def _register(table: str, insert: str, key: str) -> str:
    return (
        f"WITH ins AS ({insert} RETURNING {key}) INSERT INTO {SCHEMA}.legacy_rows "
        f"SELECT '{table}', {key}::text FROM ins ON CONFLICT DO NOTHING"
    )


INSERT_THREAD = _register(
    "agent_threads",
    (
        "INSERT INTO zakops.agent_threads "
        "(thread_id, status, created_at, updated_at, last_active_at) "
        "VALUES (%(thread)s, 'active', %(ts)s, %(ts)s, %(ts)s) ON CONFLICT (thread_id) DO NOTHING"
    ),
    "thread_id",
)

UPDATE_THREAD = (
    "UPDATE zakops.agent_threads SET updated_at = %(ts)s, last_active_at = %(ts)s "
    f"WHERE thread_id = %(thread)s AND {_owned('agent_threads', '%(thread)s')}"
)

INSERT_RUN = _register(
    "agent_runs",
    (
        "INSERT INTO zakops.agent_runs (run_id, thread_id, assistant_id, status, created_at, "
        "updated_at) VALUES (%(run)s, %(thread)s, %(agent)s, 'pending', %(ts)s, %(ts)s) "
        "ON CONFLICT (run_id) DO NOTHING"
    ),
    "run_id",
)

TERMINAL_RUN = "('completed', 'failed', 'cancelled')"
MAX_INTEGER = 2_147_483_647  # duration_ms is an integer: a run longer than 24.8 days is capped

# A terminal run keeps its status (in log order nothing follows a terminal event; a parked
# event retried later must not reopen the run).
UPDATE_RUN = (
    f"UPDATE zakops.agent_runs r SET status = CASE WHEN r.status IN {TERMINAL_RUN} "
    "THEN r.status ELSE COALESCE(%(status)s, r.status) END, "
    "assistant_id = COALESCE(r.assistant_id, %(agent)s), "
    "started_at = CASE WHEN %(started)s THEN COALESCE(r.started_at, %(ts)s) "
    "ELSE r.started_at END, "
    "completed_at = CASE WHEN %(finished)s THEN %(ts)s ELSE r.completed_at END, "
    "duration_ms = CASE WHEN %(finished)s AND r.started_at IS NOT NULL "
    f"THEN GREATEST(-{MAX_INTEGER}, LEAST({MAX_INTEGER}, "
    "EXTRACT(EPOCH FROM (%(ts)s - r.started_at)) * 1000))::integer "
    "ELSE r.duration_ms END, "
    "error = COALESCE(%(error)s, r.error), error_code = COALESCE(%(error_code)s, r.error_code), "
    "output_message = COALESCE(%(output)s, r.output_message), "
    "last_event_id = %(event_id)s, stream_position = %(stream)s, updated_at = %(ts)s "
    f"WHERE r.run_id = %(run)s AND {_owned('agent_runs', '%(run)s')}"
)

INSERT_AGENT_EVENT = _register(
    "agent_events",
    (
        "INSERT INTO zakops.agent_events (event_id, thread_id, run_id, event_type, event_data, "
        "tool_call_id, sequence_number, created_at, correlation_id, causation_id) VALUES "
        "(%(event_id)s, %(thread)s, %(run)s, %(type)s, %(data)s, %(tool_call_id)s, %(seq)s, "
        "%(ts)s, %(correlation)s, %(causation)s) ON CONFLICT (event_id) DO NOTHING"
    ),
    "event_id",
)

INSERT_DEAL = _register(
    "deals",
    (
        "INSERT INTO zakops.deals (deal_id, canonical_name, display_name, stage, status, "
        "created_at, updated_at) VALUES (%(deal)s, %(name)s, %(display)s, %(stage)s, 'active', "
        "%(ts)s, %(ts)s) ON CONFLICT (deal_id) DO NOTHING"
    ),
    "deal_id",
)

UPDATE_DEAL = (
    "UPDATE zakops.deals d SET stage = COALESCE(%(stage)s, d.stage), "
    "status = CASE WHEN %(stage)s = 'archived' THEN 'archived' ELSE d.status END, "
    "canonical_name = COALESCE(%(name)s, d.canonical_name), "
    "display_name = COALESCE(%(display)s, d.display_name), "
    "company_info = COALESCE(d.company_info, '{}'::jsonb) || %(profile)s, updated_at = %(ts)s "
    f"WHERE d.deal_id = %(deal)s AND {_owned('deals', '%(deal)s')}"
)

INSERT_ACTION = _register(
    "actions",
    (
        "INSERT INTO zakops.actions "
        "(action_id, deal_id, correlation_id, action_type, title, status, "
        "requires_approval, created_at, updated_at, idempotency_key, initiator_type, initiator_id, "
        "approvals) VALUES (%(action)s, %(deal)s, %(correlation)s, %(type)s, %(title)s, 'pending', "
        "%(approval)s, %(ts)s, %(ts)s, %(key)s, %(initiator_type)s, %(initiator_id)s, '[]') "
        "ON CONFLICT (action_id) DO NOTHING"
    ),
    "action_id",
)

UPDATE_ACTION = (
    "UPDATE zakops.actions a SET status = COALESCE(%(status)s, a.status), updated_at = %(ts)s, "
    "approved_at = CASE WHEN %(approved)s THEN %(ts)s ELSE a.approved_at END, "
    "approvals = CASE WHEN %(approved)s THEN COALESCE(a.approvals, '[]'::jsonb) || %(approval)s "
    "ELSE a.approvals END, "
    "reviewed_at = CASE WHEN %(approved)s OR %(rejected)s THEN %(ts)s ELSE a.reviewed_at END, "
    "reviewed_by = CASE WHEN %(approved)s OR %(rejected)s THEN %(reviewer)s "
    "ELSE a.reviewed_by END, "
    "rejected_by = CASE WHEN %(rejected)s THEN %(reviewer)s ELSE a.rejected_by END, "
    "rejected_at = CASE WHEN %(rejected)s THEN %(ts)s ELSE a.rejected_at END, "
    "rejection_reason = CASE WHEN %(rejected)s THEN %(reason)s ELSE a.rejection_reason END, "
    "started_at = CASE WHEN %(executing)s THEN %(ts)s ELSE a.started_at END, "
    "executed_at = CASE WHEN %(executing)s THEN %(ts)s ELSE a.executed_at END, "
    "completed_at = CASE WHEN %(completed)s THEN %(ts)s ELSE a.completed_at END, "
    "result = CASE WHEN %(completed)s THEN %(result)s ELSE a.result END, "
    "execution_result = CASE WHEN %(completed)s THEN %(result)s "
    "ELSE a.execution_result END, "
    "error_message = COALESCE(%(error)s, a.error_message) "
    f"WHERE a.action_id = %(action)s AND {_owned('actions', '%(action)s')}"
)

INSERT_DEAL_EVENT = _register(
    "deal_events",
    (
        "INSERT INTO zakops.deal_events (id, deal_id, event_type, event_source, actor, payload, "
        "created_at, idempotency_key, actor_id, actor_type, causation_id, event_version, "
        "aggregate_type, aggregate_id, schema_version, correlation_id) VALUES (%(id)s, %(deal)s, "
        "%(type)s, %(source)s, %(actor)s, %(payload)s, %(ts)s, %(key)s, %(actor_id)s, "
        "%(actor_type)s, %(causation)s, %(version)s, %(aggregate_type)s, %(aggregate_id)s, "
        "%(schema)s, %(correlation)s) ON CONFLICT (id) DO NOTHING"
    ),
    "id",
)

# Whether a later event of the same run / aggregate has landed (a replayed parked event then
# writes its own row only; see rows.py).
LATER_AGENT_EVENT = (
    "SELECT 1 FROM zakops.agent_events WHERE run_id = %s AND CASE WHEN "
    "jsonb_typeof(event_data -> 'position') = 'number' "
    "THEN (event_data ->> 'position')::numeric > %s ELSE false END LIMIT 1"
)

LATER_DEAL_EVENT = (
    "SELECT 1 FROM zakops.deal_events WHERE aggregate_type = %s AND aggregate_id = %s "
    "AND event_version > %s LIMIT 1"
)
