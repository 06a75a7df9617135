"""The real dashboard in headless Chromium (Playwright): every page renders without an error,
a filter changes the numbers, and the ROI page downloads the PDF report. Each page's screenshot
and the report's first page are saved under tests/artifacts/ for a reviewer to look at."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page

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
PAGES = {
    # navigation label -> (role, name) of an element near the end of the page: the script run
    # got that far
    "Overview": ("heading", "Trend by quarter"),
    "Pilot vs control": ("heading", "Days to competency"),
    "Capability": ("heading", "Drill into a skill"),
    "Engagement": ("heading", "When learners start sessions"),
    "Content": ("heading", "Drop-off per program"),
    "At risk": ("heading", "At risk"),  # the small warehouse's groups are all under k
    "ROI": ("button", "Download PDF"),
    "Pilot": ("heading", "Read out"),
    "Data quality": ("heading", "Quarantine"),
    "Pipeline health": ("heading", "Dead letters"),
    "Metric definitions": ("heading", "ROI (Phillips)"),
}


@contextlib.contextmanager
def serve_dashboard(settings: Settings) -> Iterator[str]:
    port = broker.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "skillstream.cli", "dashboard", "--port", str(port)],
        env={**os.environ, **settings.as_env()},
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
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the CLI and its Streamlit child (one process group): SIGTERM, then SIGKILL.

    Streamlit sometimes ignores SIGTERM while a session is open; the group must not outlive
    the test.
    """
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def dashboard_url(published_settings: Settings) -> Iterator[str]:
    with serve_dashboard(published_settings) as url:
        yield url


def settle(page: Page) -> None:
    """Wait until the script run is over and its skeletons are replaced."""
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
    page.locator('[data-testid="stSkeleton"]').first.wait_for(state="hidden", timeout=60_000)
    page.wait_for_timeout(500)


def no_exception(page: Page, name: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, name


def whole_page(page: Page, path: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main block, so the window
    is made as tall as that block for the picture (at most 8000 px)."""
    size = page.viewport_size or {"width": 1280, "height": 900}
    height = page.locator('[data-testid="stMain"]').evaluate("main => main.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 900), 8000)})
    page.wait_for_timeout(700)  # the charts redraw for the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def visit_every_page(page: Page, prefix: str) -> None:
    for label, (role, name) in PAGES.items():
        page.locator('[data-testid="stSidebarNav"]').get_by_text(label, exact=True).click()
        page.get_by_role(role, name=name).first.wait_for(state="visible", timeout=60_000)
        settle(page)
        no_exception(page, label)
        slug = label.lower().replace(" ", "-")
        whole_page(page, ARTIFACTS / f"{prefix}-{slug}.png")


def download_pdf(page: Page, folder: Path) -> Path:
    page.locator('[data-testid="stSidebarNav"]').get_by_text("ROI", exact=True).click()
    button = page.get_by_role("button", name="Download PDF")
    button.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as download_info:
        button.click()
    pdf = folder / download_info.value.suggested_filename
    download_info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    return pdf


def picture_first_page(pdf: Path, name: str) -> Path:
    """The report's first page as a reviewer sees it (pdftoppm), saved beside the screenshots."""
    assert shutil.which("pdftoppm"), "poppler-utils missing: run `make chromium`"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf),
         str(ARTIFACTS / name)],
        check=True,
    )  # fmt: skip
    picture = ARTIFACTS / f"{name}.png"
    assert picture.stat().st_size > 10_000
    return picture


def sidebar_filter(page: Page, name: str) -> Locator:
    box = page.get_by_role("combobox", name=name, exact=True)
    return page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(has=box)


def pick(page: Page, name: str, option: str) -> Locator:
    """Choose an option of a sidebar filter, as a user would: scrolled to mid-screen first. A
    dropdown at the window's bottom edge scrolls the sidebar as its list opens, and the list
    (react-aria's) closes when its trigger scrolls, so it shows nothing on a first click."""
    box = sidebar_filter(page, name)
    box.evaluate("element => element.scrollIntoView({block: 'center'})")
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    return box


def filter_survives_a_page_change_and_a_reload(page: Page) -> None:
    """After the tour, as a user would: team-a (the pilot cohort's team) picked in the sidebar
    narrows the Overview, stays on the next page and in its URL, and a reload restores it."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Overview", exact=True).click()
    completion = page.locator('[data-testid="stMetric"]').filter(has_text="Completion rate")
    completion.get_by_text("51%").wait_for(timeout=60_000)
    settle(page)
    team = pick(page, "Team", "team-a")
    completion.get_by_text("72%").wait_for(timeout=60_000)
    page.wait_for_url("**?team=team-a", timeout=30_000)
    nav.get_by_text("Capability", exact=True).click()
    page.get_by_role("heading", name="Drill into a skill").wait_for(timeout=60_000)
    settle(page)
    page.wait_for_url("**/capability?team=team-a", timeout=30_000)
    assert "team-a" in team.inner_text()
    page.reload()
    page.get_by_role("heading", name="Drill into a skill").wait_for(timeout=60_000)
    settle(page)
    assert "team-a" in team.inner_text()
    nav.get_by_text("Overview", exact=True).click()
    completion.get_by_text("72%").wait_for(timeout=60_000)
    no_exception(page, "team filter")


def test_every_page_a_filter_and_the_pdf_download(dashboard_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(dashboard_url)
            visit_every_page(page, "dashboard")

            filter_survives_a_page_change_and_a_reload(page)
            whole_page(page, ARTIFACTS / "dashboard-overview-team-a.png")

            pdf = download_pdf(page, tmp_path)  # the ROI page's PDF, as the CLI would write it
            assert pdf.name == "skillstream-roi-2026Q3.pdf"
            picture_first_page(pdf, "dashboard-report-page-1")
            assert not errors, errors
        finally:
            browser.close()
    assert (ARTIFACTS / "dashboard-overview.png").stat().st_size > 10_000


@pytest.mark.integration
def test_the_demo_in_chromium(demo_settings: Settings, tmp_path: Path) -> None:
    """`skillstream demo`'s warehouse: every page, a filter and the PDF, without an error."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve_dashboard(demo_settings) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url)
            visit_every_page(page, "demo")
            page.locator('[data-testid="stSidebarNav"]').get_by_text("Pilot vs control").click()
            team = pick(page, "Team", "team-01")
            settle(page)
            assert "team-01" in team.inner_text() and "team-02" not in team.inner_text()
            page.keyboard.press("Escape")  # close the list for the screenshot
            no_exception(page, "team filter")
            whole_page(page, ARTIFACTS / "demo-cohorts-one-team.png")
            pdf = download_pdf(page, tmp_path)
            assert pdf.name.startswith("skillstream-roi-20")
            picture_first_page(pdf, "demo-report-page-1")
            assert not errors, errors
        finally:
            browser.close()


def test_an_l_and_d_leaders_tasks(dashboard_url: str) -> None:
    """The tasks of a leader after a pilot: the verdict on the landing page, a filter that
    survives a page change and the reload of the shared link, and every KPI label whole on an
    800 px screen."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(dashboard_url)
            verdict = page.get_by_text("Did the pilot cohort work, against control?")
            verdict.wait_for(timeout=60_000)
            assert "Yes — competent ~10 days sooner" in verdict.locator("..").inner_text()

            cohort = pick(page, "Cohort", "pilot")
            completion = page.locator('[data-testid="stMetric"]').filter(has_text="Completion rate")
            completion.get_by_text("72%").wait_for(timeout=60_000)
            page.wait_for_url("**cohort=pilot**", timeout=30_000)
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_text("Capability", exact=True).click()
            page.get_by_role("heading", name="Drill into a skill").wait_for(timeout=60_000)
            settle(page)
            assert "pilot" in cohort.inner_text()
            page.wait_for_url("**/capability?cohort=pilot", timeout=30_000)

            shared = browser.new_page(viewport={"width": 1280, "height": 900})
            shared.goto(dashboard_url + "?cohort=pilot")
            shared_completion = shared.locator('[data-testid="stMetric"]').filter(
                has_text="Completion rate"
            )
            shared_completion.get_by_text("72%").wait_for(timeout=60_000)

            narrow = browser.new_page(viewport={"width": 800, "height": 900})
            narrow.goto(dashboard_url)
            narrow.get_by_role("heading", name="Trend by quarter").wait_for(timeout=60_000)
            settle(narrow)
            sidebar = narrow.locator('[data-testid="stSidebar"]')
            assert sidebar.get_attribute("data-collapsed") == "true", "sidebar open at 800 px"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            whole_page(narrow, ARTIFACTS / "dashboard-overview-800px.png")
            labels = narrow.locator('[data-testid="stMetricLabel"]')
            assert labels.count() >= 5
            cut = labels.evaluate_all(
                "els => els.flatMap(e => [e, ...e.querySelectorAll('*')])"
                ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
            )
            assert not cut, f"KPI labels cut at 800 px: {cut}"
            narrow.get_by_test_id("stExpandSidebarButton").click()
            narrow.wait_for_selector('[data-testid="stSidebar"][data-collapsed="false"]')
            # the reader opened it: a page change (a rerun of the same page load) leaves it open
            narrow.locator('[data-testid="stSidebarNav"]').get_by_text("Capability").click()
            narrow.get_by_role("heading", name="Drill into a skill").wait_for(timeout=60_000)
            settle(narrow)
            assert sidebar.get_attribute("data-collapsed") == "false"
        finally:
            browser.close()


def test_a_heatmap_cell_click_opens_its_drill_down(dashboard_url: str) -> None:
    """The heatmap lists the lowest team first (team-b, 33 %); a click on its cell opens the
    drill-down of that team and skill."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(dashboard_url)
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_text("Capability", exact=True).click()
            page.get_by_role("heading", name="Drill into a skill").wait_for(timeout=60_000)
            settle(page)
            main = page.locator('[data-testid="stMain"]')
            team = main.get_by_role("combobox", name="Team", exact=True)
            assert team.input_value() == "all teams"
            chart = page.locator('[data-testid="stVegaLiteChart"]').first
            box = chart.locator("canvas, svg").first.bounding_box()
            assert box is not None
            # the title takes the first ~42 px; rows are 36 px high, the lowest team's first
            chart.click(position={"x": box["width"] * 0.6, "y": 60})
            main.locator('input[aria-label="Team"][value="team-b"]').wait_for(timeout=60_000)
            settle(page)
            no_exception(page, "heatmap click")
            assert (
                main.get_by_role("combobox", name="Skill", exact=True).input_value()
                == "data analysis"
            )
            assert main.get_by_role("radio", name="role", exact=True).is_checked()
        finally:
            browser.close()


def test_the_data_docs_open_over_http(published_settings: Settings) -> None:
    """Data quality links to the Data Docs the dashboard serves; a link inside them opens the
    linked document, all over the dashboard's HTTP."""
    from playwright.sync_api import sync_playwright

    from tests.dashboards.test_data_docs import write_data_docs

    write_data_docs(published_settings)
    with serve_dashboard(published_settings) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_text("Data quality", exact=True).click()
            page.get_by_role("link", name="Data Docs of this checkpoint").first.click()
            docs = page.frame_locator("iframe").first
            docs.get_by_role("heading", name="Validation results").wait_for(timeout=60_000)
            assert page.url.startswith("http://localhost:") and "/data-docs" in page.url
            with page.expect_popup(timeout=60_000) as popup:
                docs.get_by_role("link", name="run").click()
            linked = popup.value
            linked.frame_locator("iframe").first.get_by_text(
                "expect_column_values_to_not_be_null: passed"
            ).wait_for(timeout=60_000)
            assert linked.url.endswith("/data-docs?doc=validations/run.html")
            no_exception(page, "data docs")
        finally:
            browser.close()


def test_a_scenario_download_carries_the_edited_assumption(
    dashboard_url: str, tmp_path: Path
) -> None:
    """On the ROI page a leader sets a day sooner at competency to 400: the CSV downloaded
    there carries it as a scenario beside the published 250."""
    import csv

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.goto(dashboard_url)
            page.locator('[data-testid="stSidebarNav"]').get_by_text("ROI", exact=True).click()
            value = page.get_by_role("spinbutton", name="Value of a competent day")
            value.wait_for(timeout=60_000)
            value.fill("400")
            value.press("Enter")
            page.get_by_text("as a scenario").first.wait_for(timeout=60_000)
            settle(page)
            no_exception(page, "scenario")
            with page.expect_download(timeout=60_000) as download_info:
                page.get_by_role("button", name="Download CSV").click()
            assert download_info.value.suggested_filename == "skillstream-roi-2026Q3-scenario.csv"
            saved = tmp_path / "scenario.csv"
            download_info.value.save_as(saved)
            rows = {
                (r["table"], r["key"], r["column"]): r["value"]
                for r in csv.DictReader(saved.open())
            }
            assert rows[("scenario_assumptions", "value_of_competent_day", "scenario")] == "400.0"
            assert rows[("scenario_assumptions", "value_of_competent_day", "published")] == "250.0"
        finally:
            browser.close()
