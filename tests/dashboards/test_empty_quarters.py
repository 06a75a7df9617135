"""Every page rendered with AppTest on the demo's marts, on the hand-made marts (the current
quarter, 2026Q4 by the build's clock, has no statement: the data are of 2026Q3), on a published
build whose marts have no row at all, and before any build: nothing reads "None", "nan" or
"NaT", no table header shows a raw snake_case column name, and an empty page says what to do."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from skillstream import warehouse
from skillstream.quality.publish import BuildRecord, new_build_id, record_build
from skillstream.settings import Settings
from tests.dashboards.conftest import DERIVED, EVERY_PAGE, MARTS_DDL
from tests.dashboards.test_app import APP

MISSING_WORDS = re.compile(r"\b(?:None|nan|NaN|NaT)\b")
SNAKE_CASE = re.compile(r"(?<![\w./:`'-])[a-z]+(?:_[a-z0-9]+)+(?![\w./:`'(-])")
# what an empty page tells the reader to do
WHAT_TO_DO = re.compile(r"`skillstream [a-z]+|land statements", re.I)
STATIC = ("definitions",)  # pages that show no data: nothing to do when there is none


def headers(app: AppTest) -> list[str]:
    """Each table's column headers as shown: the column config's label, else the name."""
    shown = []
    for table in app.dataframe:
        config = json.loads(table.proto.columns or "{}")
        for column in table.value.columns:
            label = config.get(str(column), {}).get("label")
            shown.append(str(label or column))
    return shown


def texts(app: AppTest) -> str:
    parts: list[str] = []
    for kind in ("title", "subheader", "header", "markdown", "caption", "info", "warning"):
        parts += [str(element.value) for element in getattr(app, kind)]
    parts += [str(e.value) for e in app.success] + [str(e.value) for e in app.error]
    parts += [f"{m.label} {m.value} {m.delta or ''}" for m in app.metric]
    for table in app.dataframe:
        parts.append(table.value.astype(str).to_string(header=False, index=False))
    return "\n".join(parts)


def render(page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    if page != "overview":
        app.switch_page(f"screens/{page}.py").run()
    assert not app.exception, (page, app.exception)
    return app


def assert_every_page_reads_well(expect_what_to_do: bool) -> None:
    problems = {}
    for page in EVERY_PAGE:
        app = render(page)
        text = texts(app)
        found = MISSING_WORDS.findall(text) + [h for h in headers(app) if SNAKE_CASE.fullmatch(h)]
        empty = [e.value for e in app.info] + [e.value for e in app.warning]
        if (
            expect_what_to_do
            and page not in STATIC
            and not any(WHAT_TO_DO.search(str(v)) for v in empty)
        ):
            found.append(f"no empty state saying what to do: {empty}")
        if found:
            problems[page] = found
    assert not problems, problems


def publish_empty(settings: Settings) -> None:
    """A build published from a warehouse with the marts' tables but no row in any."""
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(MARTS_DDL)
    con.execute(DERIVED)
    con.close()
    now = datetime.now().isoformat()
    record_build(settings, BuildRecord(new_build_id(), now, now, True, True, True))


def test_pages_on_marts_without_the_current_quarter(published_settings: Settings) -> None:
    assert_every_page_reads_well(expect_what_to_do=False)


def test_pages_on_a_build_without_a_statement(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_empty(settings)
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    assert_every_page_reads_well(expect_what_to_do=True)


def test_pages_before_any_build(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    assert_every_page_reads_well(expect_what_to_do=True)


@pytest.mark.integration
def test_pages_on_the_demo(demo_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in demo_settings.as_env().items():
        monkeypatch.setenv(key, value)
    assert_every_page_reads_well(expect_what_to_do=False)
