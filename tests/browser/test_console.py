"""The console's scenarios in a real browser: roles, the live timeline and its resume,
approvals, the dead-letter queue, the state as of a seq, sign-in errors."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site
from tests.e2e.server import drop_connections


def test_a_wrong_key_shows_a_clear_error(browser: Browser, site: Site) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site.url}/console/runs")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/console/runs$"))
    page.fill("#key", "zk_not_a_real_key_at_all")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("That key is unknown or was revoked.")
    context.close()


def test_a_reader_sees_no_approve_button_and_a_forged_post_is_refused(
    as_reader: Page, site: Site
) -> None:
    action = create_action(site)
    as_reader.goto(f"{site.url}/console/actions")
    expect(as_reader.locator(f"#action-{action}")).to_be_visible()
    expect(as_reader.get_by_role("button", name="Approve")).to_have_count(0)
    path = f"{site.url}/console/actions/{action}/approve"
    no_token = as_reader.request.post(path, form={"reason": "forged"})
    assert no_token.status == 403
    token = as_reader.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    with_token = as_reader.request.post(path, form={"reason": "x"}, headers={"X-CSRF-Token": token})
    assert with_token.status == 403
    assert "reader role" in with_token.text()
    assert site.deps.queries.get_state("action", action).status == "created"


def test_the_session_timeline_updates_live_and_resumes_without_gap(
    as_writer: Page, site: Site
) -> None:
    page = as_writer
    session = f"s-live-{uuid.uuid4().hex[:6]}"
    emit(site, session, 3)
    page.goto(f"{site.url}/console/sessions/{session}")
    expect(page.locator("#timeline .ev")).to_have_count(3)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    emit(site, session, 1)  # acknowledged: the row must show within a second
    expect(page.locator("#ev-4")).to_be_visible(timeout=1000)

    assert drop_connections(site.server) >= 1  # the stream dies mid-flight
    emit(site, session, 5)  # written while the page is disconnected
    expect(page.locator("#ev-9")).to_be_visible(timeout=5000)
    emit(site, session, 1)
    expect(page.locator("#ev-10")).to_be_visible(timeout=2000)
    seqs = page.locator("#timeline .ev").evaluate_all("rows => rows.map(r => +r.dataset.seq)")
    assert seqs == list(range(10, 0, -1))  # every seq once: no gap, no duplicate


def test_the_demo_session_shows_its_timeline_and_filters(as_writer: Page, site: Site) -> None:
    page = as_writer
    page.goto(f"{site.url}/console/sessions/{site.session}")
    rows = page.locator("#timeline .ev")
    expect(rows.first).to_be_visible()
    assert rows.count() == site.deps.queries.get_session(site.session).last_seq
    rows.first.locator("summary").click()
    expect(rows.first.locator("pre").first).to_be_visible()
    page.select_option("select[name=domain]", "verify")
    page.click("form.filters button[type=submit]")
    types = page.locator("#timeline .ev .type").all_inner_texts()
    assert types and all(t.startswith("verify_") for t in types)


def test_approving_an_action_shows_its_status_and_event(as_writer: Page, site: Site) -> None:
    action = create_action(site)
    page = as_writer
    page.goto(f"{site.url}/console/actions")
    row = page.locator(f"#action-{action}")
    row.locator("input[name=reason]").fill("looks right")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator(f"#action-{action} .action-status")).to_have_text("approved")
    expect(page.locator(f"#action-{action} .written")).to_contain_text("action.approved")
    event = site.deps.queries.get_recent(1, ["action.approved"])[0]
    assert event.payload["reason"] == "looks right"
    assert event.source == "console"


def test_an_operator_requeues_a_dead_job(as_operator: Page, site: Site) -> None:
    dead = site.deps.queries.list_states("job", 1, 0, status="dlq").items[0].key
    page = as_operator
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{site.url}/console/jobs?status=dlq")
    page.locator(f"#job-{dead}").get_by_role("button", name="Requeue").click()
    expect(page.locator(f"#job-{dead} .job-status")).to_have_text("queued")
    expect(page.locator(f"#job-{dead} .written")).to_contain_text("worker.job_queued")


def test_the_seq_control_shows_the_run_as_of_that_moment(as_writer: Page, site: Site) -> None:
    run = f"run-{site.session.removeprefix('sess-')}-verified"
    events = site.deps.queries.get_events_by_run(run)
    started = next(e.seq for e in events if e.type == "run_started")
    page = as_writer
    page.goto(f"{site.url}/console/runs/{run}")
    expect(page.locator("#run-status")).to_have_text("completed")
    page.locator("#at-seq").fill(str(started))
    expect(page.locator("#run-status")).to_have_text("running")
    expect(page.locator("#run-version")).to_contain_text(f"as of seq {started}")
    page.locator("#at-seq").fill(str(events[0].seq))
    expect(page.locator("#run-status")).to_have_text("queued")


def create_action(site: Site) -> str:
    action = f"ACT-{uuid.uuid4().hex[:8]}"
    site.deps.actions.create_action(action, "send_email", title="Email the founder")
    return action


def emit(site: Site, session: str, count: int) -> None:
    for _ in range(count):
        response = httpx.post(
            f"{site.url}/api/events",
            json={"type": "custom.note", "session_id": session, "payload": {"n": 1}},
            headers=site.api(),
        )
        assert response.status_code == 201, response.text
