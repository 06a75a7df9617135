"""The real dashboard in headless Chromium: the completion chart renders with the numbers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from skillstream import broker
from skillstream.settings import Settings
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def dashboard_url(published_settings: Settings) -> Iterator[str]:
    port = broker.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "skillstream.cli", "dashboard", "--port", str(port)],
        env={**os.environ, **published_settings.as_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not broker.port_open("localhost", port):
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        assert time.monotonic() < deadline, "the dashboard did not start within 60 s"
        time.sleep(0.2)
    try:
        yield f"http://localhost:{port}/"
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def test_the_completion_chart_renders_in_chromium(dashboard_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(dashboard_url)
            chart = page.locator('[data-testid="stVegaLiteChart"]').first
            chart.wait_for(state="visible", timeout=60_000)
            chart.locator("canvas, svg").first.wait_for(state="visible", timeout=30_000)
            assert (
                "Completion rate by cohort" in chart.inner_text()
                or page.get_by_text("Completion rate by cohort").count()
            )
            table = page.locator('[data-testid="stTable"]').first.inner_text()
            assert "75.0%" in table and "25.0%" in table
            assert page.locator('[data-testid="stException"]').count() == 0
            page.screenshot(path=str(ARTIFACTS / "dashboard-completion.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()
    assert (ARTIFACTS / "dashboard-completion.png").stat().st_size > 10_000
