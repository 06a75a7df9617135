"""One mapping from column to label, unit and rounding (dashboards/labels.py), and pages that
never show "None" or "nan": every page (but the Overview) rendered with AppTest on a build with
known marts, on a simulated organisation with many hidden groups and on a quarter with none."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from skillstream.dashboards import labels
from skillstream.settings import Settings
from tests.dashboards.conftest import publish_simulated, simulated_organisation
from tests.dashboards.test_app import APP, set_filter

PAGES = ("cohorts", "capability", "engagement", "roi", "quality", "health", "definitions")
FILTERED = ("cohorts", "capability", "engagement")  # the pages with the sidebar's filters
MISSING_WORDS = re.compile(r"\b(?:None|nan|NaN|NaT)\b")


@pytest.mark.parametrize(
    ("unit", "value", "shown"),
    [
        ("money", 580636.314, "$580,636"),
        ("money", -2640.4, "−$2,640"),
        ("rate", 0.72093, "72.1 %"),
        ("percent", 43.0012, "43.0 %"),
        ("count", 1234.0, "1,234"),
        ("days", 12.345, "12.3"),
        ("months", 8.391539, "8.4"),
        ("ratio", 1.430012, "1.43"),
        ("minutes", 29.6, "30"),
        ("rate", None, "—"),
        ("money", float("nan"), "—"),
        ("rate", "fewer than 5", "fewer than 5"),
    ],
)
def test_each_unit_is_rounded_for_it(unit: str, value: object, shown: str) -> None:
    assert labels.show(value, unit) == shown


def test_the_currency_is_the_setting_s_with_its_symbol() -> None:
    assert labels.show(1500, "money", "EUR") == "€1,500"
    assert labels.show(1500, "money", "CHF") == "CHF 1,500"
    assert labels.excel_format("money", "GBP") == '"£"#,##0;-"£"#,##0'


def test_every_column_reads_as_words() -> None:
    assert labels.label("median_days_to_competency") == "Median days to competency"
    assert labels.label("some_new_column") == "Some new column"  # never snake_case
    assert labels.assumption_label("kpi_value:tickets_closed") == (
        "Value of one unit of tickets closed"
    )
    assert all(label.unit in labels.UNITS for label in labels.LABELS.values())


def shown_text(app: AppTest) -> str:
    """Everything a page writes: text elements, metrics and every table's cells and headers."""
    parts: list[str] = []
    for kind in (
        "title",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "success",
        "error",
    ):
        parts += [str(element.value) for element in getattr(app, kind)]
    parts += [f"{m.label} {m.value}" for m in app.metric]
    for frame in [d.value for d in app.dataframe] + [t.value for t in app.table]:
        if isinstance(frame, pd.DataFrame):
            parts.append(frame.to_string())
    return "\n".join(parts)


def assert_no_missing_words(quarter: str | None = None) -> None:
    for page in PAGES:
        app = AppTest.from_file(APP, default_timeout=60)
        app.run()
        app.switch_page(f"screens/{page}.py").run()
        assert not app.exception, (page, app.exception)
        if quarter and page in FILTERED:
            set_filter(app, "quarter", quarter)
        text = shown_text(app)
        assert not MISSING_WORDS.findall(text), (page, MISSING_WORDS.findall(text), text[:2000])


def test_no_page_shows_none_or_nan(published_settings: Settings) -> None:
    assert_no_missing_words()


def test_no_page_shows_none_or_nan_on_many_hidden_groups(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_simulated(settings, simulated_organisation())
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    assert_no_missing_words()
    assert_no_missing_words(quarter="2026Q4")  # a quarter with no pilot and no comparison


def test_a_subject_shows_by_its_name_else_by_its_iris_last_part() -> None:
    names = {"https://skills.example/sql": "SQL for analysts"}
    assert labels.subject_name("https://skills.example/sql", names) == "SQL for analysts"
    assert labels.subject_name("https://skills.example/data-analysis/", names) == "data analysis"
    assert labels.subject_name("urn:skills:data_storytelling", names) == "data storytelling"
    assert labels.subject_name("https://lms.example/courses#p1", {}) == "p1"
