"""Every console page at 1280 and 390 px wide, saved to .artifacts/console/ for a person to
look at; the pages must load without a console error (a CSP violation shows as one) and
without a horizontal scrollbar on the page itself."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage, Page

from entrypoints.demo import drive
from tests.browser.conftest import OPERATOR, SHOTS, WIDTHS, Site


def pages(site: Site) -> dict[str, str]:
    q = site.deps.queries
    run = q.list_states("run", 50, 0, session_id=site.session).items
    verified = next(r.key for r in run if r.key.endswith("-verified"))
    deal = q.list_states("deal", 1, 0, status="loi").items[0].key
    return {
        "activity": "/console/",
        "sessions": "/console/sessions",
        "session": f"/console/sessions/{site.session}",
        "runs": "/console/runs",
        "run": f"/console/runs/{verified}",
        "deals": "/console/deals",
        "deal": f"/console/deals/{deal}",
        "actions": "/console/actions",
        "jobs": "/console/jobs",
        "operations": "/console/operations",
        "not-found": "/console/runs/no-such-run",
    }


def test_every_page_at_both_widths(browser: Browser, site: Site) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    drive(site.deps)  # fresh demo data: a dead job, a quarantined action...
    site.deps.actions.create_action("ACT-SHOT", "send_loi", title="Send the LOI to Acme")
    errors: list[str] = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()

        def keep(message: ConsoleMessage, width: int = width, page: Page = page) -> None:
            if message.type == "error":
                errors.append(f"{width}px {page.url}: {message.text}")

        page.on("console", keep)
        page.goto(f"{site.url}/console/login")
        page.screenshot(path=SHOTS / f"login-{width}.png", full_page=True)
        page.fill("#key", OPERATOR)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site.url}/console/")
        for name, path in pages(site).items():
            page.goto(site.url + path)
            page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
        context.close()
    errors = [e for e in errors if "404" not in e]  # the not-found page answers 404 on purpose
    assert not errors, errors
