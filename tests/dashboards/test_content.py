"""The Content page: assessment items from marts.item_analysis, flagged ones first, with one
item's responses; items and responses of fewer than k learners are not shown."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from skillstream.settings import Settings
from tests.conftest import REPO
from tests.dashboards.conftest import publish_with

A = "https://lms.example/assessments/a"
ITEMS = [
    # item_id, assessment_id, attempts, learners, difficulty, first-attempt rate,
    # discrimination, mean attempts to success, flag, is_small_group
    (f"{A}/ok", A, 50, 40, 0.6, 0.55, 0.31, 1.2, None, False),
    (f"{A}/hard", A, 70, 40, 0.1, 0.05, 0.12, 2.5, "too_hard", False),
    (f"{A}/easy", A, 40, 40, 0.975, 0.975, 0.02, 1.0, "too_easy", False),
    (f"{A}/few", A, 3, 3, 0.5, 0.5, None, 1.0, "too_hard", True),
]
RESPONSES = [
    # item_id, response, description, learners, is_correct, is_small_group
    (f"{A}/easy", "a", "option a", 25, True, False),
    (f"{A}/easy", "b", "option b", 8, False, False),
    (f"{A}/easy", "c", "option c", 7, False, False),
    (f"{A}/easy", "d", "option d", 0, False, False),
]


ITEM_MARTS = """
CREATE TABLE marts.item_analysis (
    item_id VARCHAR, assessment_id VARCHAR, attempts BIGINT, learners BIGINT, difficulty DOUBLE,
    first_attempt_correct_rate DOUBLE, discrimination DOUBLE, mean_attempts_to_success DOUBLE,
    flag VARCHAR, is_small_group BOOLEAN);
CREATE TABLE marts.item_responses (
    item_id VARCHAR, response VARCHAR, description VARCHAR, learners BIGINT, is_correct BOOLEAN,
    is_small_group BOOLEAN);
"""


@pytest.fixture
def items_published(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    rows = {"item_analysis": ITEMS, "item_responses": RESPONSES}
    return publish_with(settings, monkeypatch, ITEM_MARTS, rows)


def test_the_content_page_lists_flagged_items_first(items_published: Settings) -> None:
    app = AppTest.from_file(str(REPO / "dashboards" / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("screens/content.py").run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Content"
    items = app.dataframe[0].value
    # by name (these have none: their IRI's last part); 3 learners: hidden
    assert list(items["item_id"]) == ["easy", "hard", "ok"]
    assert not items["assessment_id"].str.contains("://").any()
    assert list(items["flag"]) == ["too easy", "too hard", ""]
    assert {m.label: m.value for m in app.metric}["Flagged items"] == "2"
    captions = "\n".join(c.value for c in app.caption)
    assert "1 item(s) with fewer than 5 learners" in captions
    # the first item's responses; d (nobody) rests on fewer than k learners
    assert app.selectbox(key="content_item").value == f"{A}/easy"
    responses = app.dataframe[1].value
    assert list(responses["response"]) == ["a", "b", "c"]
    assert [int(n) for n in responses["learners"]] == [25, 8, 7]
