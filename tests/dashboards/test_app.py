"""AppTests of each page, on a published build with known numbers."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from skillstream.settings import Settings
from tests.conftest import REPO
from tests.dashboards.conftest import publish

APP = str(REPO / "dashboards" / "app.py")


def run_app() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def table_rows(app: AppTest) -> list[tuple]:
    frame = app.table[0].value.reset_index()
    return list(
        frame[["program_id", "cohort", "enrolled", "completed", "completion"]].itertuples(
            index=False, name=None
        )
    )


def test_completion_page_shows_the_published_numbers(published_settings: Settings) -> None:
    app = run_app()
    assert app.title[0].value == "Completion"
    assert table_rows(app) == [
        ("https://lms.example/courses/p1", "control", 36, 9, "25.0%"),
        ("https://lms.example/courses/p1", "pilot", 40, 30, "75.0%"),
    ]
    assert any("1 group(s) with fewer than 5 learners are hidden" in c.value for c in app.caption)
    assert not app.warning


def test_program_filter(published_settings: Settings) -> None:
    app = run_app()
    app.multiselect[0].select("https://lms.example/courses/p2").run()
    assert not app.exception
    assert not app.table  # p2's only group is under k: nothing to show
    assert app.info[0].value == "No group is large enough to show."


def test_a_held_back_build_is_announced(published_settings: Settings) -> None:
    publish(
        published_settings,
        published=False,
        failures=[{"check": "gx:raw_statements:x", "detail": "3"}],
    )
    app = run_app()
    assert "was held back by the quality gate: gx:raw_statements:x (3)" in app.warning[0].value
    assert table_rows(app)  # the last published build is still shown


def test_before_any_publish_the_page_says_what_to_do(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    app = run_app()
    assert "No build has been published yet" in app.info[0].value
