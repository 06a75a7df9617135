"""AppTest of the Pilot page on a planted organisation (tests/skillstream/pilot_org.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from skillstream.settings import Settings
from tests.conftest import REPO
from tests.skillstream.pilot_org import PILOTS, P, publish_org

APP = str(REPO / "dashboards" / "app.py")


@pytest.fixture
def org_app(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    publish_org(settings)
    for key, value in settings.as_env().items():
        monkeypatch.setenv(key, value)
    config = tmp_path / "skillstream.toml"
    config.write_text(PILOTS)
    monkeypatch.setenv("SKILLSTREAM_CONFIG", str(config))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("screens/pilot.py").run()
    assert not app.exception, app.exception
    return app


def markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_plan_from_the_published_baseline_and_a_given_rate(org_app: AppTest) -> None:
    org_app.selectbox(key="plan_subject").select(P).run()
    assert org_app.metric[0].value == "107"  # baseline 0.4 within 30 days, +20 points
    assert "from a baseline of **40.0 %**" in markdown(org_app)
    assert any("continuity correction" in c.value for c in org_app.caption)
    org_app.selectbox(key="plan_baseline_cohort").select("all learners").run()
    assert "from a baseline of **52.0 %**" in markdown(org_app)  # 226 of 435
    org_app.number_input(key="plan_rate").set_value(0.3).run()
    assert org_app.metric[0].value == "103"  # Fleiss, Levin & Paik Table A.4: 0.3 -> 0.5


def test_readout_gives_the_verdict_and_hides_the_small_pilot(org_app: AppTest) -> None:
    text = markdown(org_app)
    assert "scale: the 95 % interval excludes zero" in text
    assert "**SCALE** · pilot (pilot vs control, completion rate" in text
    assert "difference +40.0 points" in text
    assert any("trio" in i.value and "fewer than 5 learners" in i.value for i in org_app.info)


def test_kpi_effects_show_the_did_and_hide_a_small_cohort(org_app: AppTest) -> None:
    table = org_app.dataframe[0].value
    assert list(table["cohort"]) == ["pilot"]
    # a column with a hidden figure shows as text in its unit
    assert tuple(float(table[c][0]) for c in ("did", "ci_low", "ci_high")) == (3.0, 2.5, 3.5)
    # each side's learners stand beside the effect (k or more: the row is shown)
    assert (int(table["learners"][0]), int(table["baseline_learners"][0])) == (120, 300)
    assert any("1 cohort(s) with fewer than 5 learners" in c.value for c in org_app.caption)


def test_projection_of_500_at_1500_with_a_band(org_app: AppTest) -> None:
    table = org_app.dataframe[1].value
    assert list(table["case"]) == ["low", "estimate", "high"]
    assert set(table["annual cost"]) == {750_000}
    # +0.4 completion x 500 x (250 x 30 days) = 1,500,000, the band from the interval
    estimate = table.set_index("case").loc["estimate"]
    assert estimate["benefit"] == pytest.approx(1_500_000)
    assert estimate["ROI %"] == pytest.approx(100.0)
    assert table["benefit"].is_monotonic_increasing
    assert any("headcount: 500" in c.value for c in org_app.caption)
