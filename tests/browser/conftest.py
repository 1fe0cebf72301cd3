"""The real app behind a real uvicorn server, with the demo's data, driven by Debian's
chromium through Playwright (launched by path: Playwright's own browser download is not
used; `make` installs chromium with scripts/ensure-chromium.sh)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from pydantic import SecretStr

from adapters.http.deps import ApiDeps
from entrypoints.asgi import create_app
from entrypoints.demo import drive
from entrypoints.settings import Settings
from tests.e2e.server import serving

CHROMIUM = os.environ.get("ZAKOPS_CHROMIUM", "/usr/bin/chromium")
READER, WRITER, OPERATOR = "r" * 24, "w" * 24, "o" * 24
SHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "console"
WIDTHS = (1280, 390)


@dataclass
class Site:
    url: str
    server: uvicorn.Server
    deps: ApiDeps
    session: str  # the demo's session

    def api(self, key: str = WRITER) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("console")
    keys = f"reader:{READER},writer:{WRITER},operator:{OPERATOR}"
    settings = Settings(
        store="sqlite",
        sqlite_path=tmp / "zakops.sqlite",
        data_dir=tmp / "data",
        api_keys=SecretStr(keys),
        _env_file=None,
    )
    app = create_app(settings)
    deps: ApiDeps = app.state.deps
    session = drive(deps)
    with serving(app) as (url, server):
        yield Site(url, server, deps, session)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make .venv/.installed` (installs chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def sign_in(context: BrowserContext, site: Site, key: str) -> Page:
    page = context.new_page()
    page.goto(f"{site.url}/console/login")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/console/")
    return page


@pytest.fixture
def as_writer(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield sign_in(context, site, WRITER)
    context.close()


@pytest.fixture
def as_reader(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield sign_in(context, site, READER)
    context.close()


@pytest.fixture
def as_operator(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield sign_in(context, site, OPERATOR)
    context.close()
