"""Planning a pilot (sample size, power, detectable lift), the `[[pilots]]` settings, the
readout's verdicts and the organisation-wide projection (docs/pilot.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skillstream.dashboards.figures import Published
from skillstream.dashboards.suppression import Privacy
from skillstream.pilot import (
    PilotError,
    baseline_of,
    gain_of,
    kpi_value_of,
    plan,
    project,
    projection_of,
    readout,
    verdict,
)
from skillstream.quality.publish import read_status
from skillstream.settings import PilotSettings, RoiSettings, Settings
from skillstream.stats import (
    Interval,
    bootstrap_median_difference,
    detectable_median_lift,
    detectable_proportion_lift,
    medians_per_arm,
    medians_power,
    proportions_per_arm,
    proportions_power,
)
from tests.conftest import CliResult, make_settings, run_cli
from tests.skillstream.pilot_org import PILOTS, START, P, S, publish_org

# Fleiss, Levin & Paik (2003), Statistical Methods for Rates and Proportions, 3rd ed., Table A.4
# (sample size per group, two-sided alpha = 0.05, continuity-corrected), entries for
# (p1, p2) at power 0.80 and 0.90. Each value was checked by evaluating eq. 4.14/4.19 by hand.
FLEISS_TABLE_A4 = [
    ((0.05, 0.10), 474, 621),
    ((0.10, 0.20), 219, 286),
    ((0.20, 0.40), 91, 119),
    ((0.30, 0.50), 103, 134),
    ((0.40, 0.60), 107, 140),
]


@pytest.mark.parametrize(("rates", "at_80", "at_90"), FLEISS_TABLE_A4)
def test_sample_size_matches_the_published_table(rates, at_80, at_90) -> None:
    p1, p2 = rates
    assert proportions_per_arm(p1, p2 - p1, power=0.8) == at_80
    assert proportions_per_arm(p1, p2 - p1, power=0.9) == at_90
    # a fall is planned like the rise it mirrors
    assert proportions_per_arm(1 - p1, p1 - p2, power=0.8) == at_80


def _yates_test_power(baseline: float, lift: float, per_arm: int, pilots: int, seed: int) -> float:
    """Share of simulated pilots in which the continuity-corrected chi-square test (the test
    the formula plans for) rejects at alpha = 0.05."""
    rng = np.random.default_rng(seed)
    control = rng.binomial(per_arm, baseline, pilots) / per_arm
    pilot = rng.binomial(per_arm, baseline + lift, pilots) / per_arm
    pooled = (control + pilot) / 2
    spread = np.sqrt(pooled * (1 - pooled) * 2 / per_arm)
    statistic = (np.abs(pilot - control) - 1 / per_arm) / np.where(spread > 0, spread, np.inf)
    return float(np.mean(statistic > 1.959963984540054))


@pytest.mark.parametrize(("baseline", "lift"), [(0.4, 0.2), (0.1, 0.1), (0.7, -0.25)])
def test_planned_size_reaches_the_stated_power_in_simulated_pilots(baseline, lift) -> None:
    per_arm = proportions_per_arm(baseline, lift, power=0.8)
    simulated = _yates_test_power(baseline, lift, per_arm, pilots=20_000, seed=24)
    assert simulated == pytest.approx(0.8, abs=0.03)
    assert proportions_power(baseline, lift, per_arm) == pytest.approx(0.8, abs=0.01)


def test_detectable_lift_is_the_lift_the_team_size_is_planned_for() -> None:
    lift = detectable_proportion_lift(0.3, per_arm=103)
    assert lift == pytest.approx(0.2, abs=0.002)
    assert detectable_proportion_lift(0.7, per_arm=103, direction=-1) == pytest.approx(
        -0.2, abs=0.002
    )
    assert detectable_proportion_lift(0.5, per_arm=3) is None  # not even 0.5 -> 1.0


@pytest.mark.parametrize(("baseline", "lift"), [(0.0, 0.1), (0.5, 0.0), (0.9, 0.2), (1.2, -0.1)])
def test_impossible_plans_are_refused_with_the_reason(baseline, lift) -> None:
    with pytest.raises(ValueError, match=r"baseline rate|lift"):
        proportions_per_arm(baseline, lift)


def _days(seed: int = 1, size: int = 300) -> np.ndarray:
    return np.random.default_rng(seed).gamma(4.0, 5.0, size=size)  # days to competency


def test_median_plan_reaches_its_power_with_fresh_simulated_pilots() -> None:
    days = _days()
    per_arm = medians_per_arm(days, -0.4, power=0.8, seed=0)
    assert per_arm is not None and 10 < per_arm < 60
    assert (
        medians_power(days, -0.4, per_arm - 1, seed=0)
        < 0.8
        <= medians_power(days, -0.4, per_arm, seed=0)
    )
    assert medians_power(days, -0.4, per_arm, pilots=4000, seed=99) == pytest.approx(0.8, abs=0.03)


def test_median_plan_holds_for_the_readouts_bootstrap_interval() -> None:
    """The readout judges days to competency by the bootstrap interval of the difference in
    medians (skillstream.stats, as the mart): the planned size shows the lift in about the
    planned share of 1,000 simulated pilots judged that way."""
    days = _days()
    per_arm = medians_per_arm(days, -0.4, power=0.8, seed=0)
    rng = np.random.default_rng(7)
    shown = 0
    for pilot in range(1000):
        baseline = rng.choice(days, per_arm)
        treated = rng.choice(days, per_arm) * 0.6
        interval = bootstrap_median_difference(treated, baseline, seed=pilot, resamples=500)
        shown += interval.high < 0
    assert shown / 1000 == pytest.approx(0.8, abs=0.05)


def test_detectable_median_lift_at_the_planned_size_is_the_planned_lift() -> None:
    days = _days()
    per_arm = medians_per_arm(days, -0.3, power=0.8, seed=0)
    assert detectable_median_lift(days, per_arm, seed=0) == pytest.approx(-0.3, abs=0.02)
    assert detectable_median_lift(days, 5, seed=0) is None
    with pytest.raises(ValueError, match="6 learners per arm"):
        medians_power(days, -0.3, 5)


# ---- verdicts on planted numbers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("effect", "lift", "powered", "expected"),
    [
        ((0.30, 0.22, 0.38), 0.2, True, ("scale", "excludes zero")),
        ((-0.45, -0.55, -0.35), -0.4, True, ("scale", "excludes zero")),
        ((0.30, 0.22, 0.38), 0.2, False, ("extend", "not powered")),
        ((0.05, -0.04, 0.14), 0.2, True, ("stop", "excludes the planned lift")),
        ((-0.10, -0.20, -0.01), 0.2, True, ("stop", "excludes the planned lift")),
        ((-0.10, -0.15, -0.05), -0.4, False, ("stop", "excludes the planned lift")),
        ((0.15, -0.02, 0.32), 0.2, True, ("extend", "includes zero")),
        ((0.15, 0.05, 0.25), 0.2, True, ("extend", "falls short")),
    ],
)
def test_verdict_rules(effect, lift, powered, expected) -> None:
    decision, why = verdict(Interval(*effect), lift, powered)
    assert decision == expected[0]
    assert expected[1] in why


# ---- readout on a planted organisation (tests/skillstream/pilot_org.py) -------------------------


@pytest.fixture(scope="module")
def org_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("org"))
    publish_org(settings)
    return settings


@pytest.fixture(scope="module")
def org(org_settings: Settings) -> Published:
    current, _ = read_status(org_settings)
    assert current is not None
    return Published(
        current["build_id"], current["finished_at"], Path(current["snapshot"]), None, True, []
    )


def _pilot(cohort: str, metric: str, lift: float) -> PilotSettings:
    return PilotSettings(
        cohort=cohort,
        metric=metric,
        lift=lift,
        start=START.date(),
        baseline_cohort="control",
        program=P,
        skill=S,
        name=f"{cohort} {metric}",
    )


def test_readout_recovers_the_planted_effect_and_says_scale(org: Published) -> None:
    result = readout(org, _pilot("pilot", "completion", 0.2), Privacy(5), seed=1)
    assert (result.n, result.baseline_n) == (120, 300)
    assert (result.value, result.baseline_value) == pytest.approx((0.8, 0.4))
    assert result.effect is not None and result.effect.low < 0.4 < result.effect.high
    assert result.effect.estimate == pytest.approx(0.4)
    assert result.power > 0.8 and result.is_complete
    assert result.verdict == "scale"


def test_readout_days_to_competency_is_judged_relative_to_the_baseline_median(org) -> None:
    result = readout(org, _pilot("pilot", "days_to_competency", -0.4), Privacy(5), seed=1)
    assert (result.value, result.baseline_value) == (12.0, 24.0)
    assert (result.n, result.baseline_n) == (96, 120)  # competent within the window
    assert result.planned_effect is not None
    assert result.planned_effect.estimate == pytest.approx(-0.5)
    assert result.verdict == "scale"
    assert readout(org, _pilot("pilot", "days_to_competency", -0.6), Privacy(5), 1).verdict == (
        "stop"
    )


def test_readout_of_a_small_pilot_says_extend_and_a_too_ambitious_one_stop(org) -> None:
    small = readout(org, _pilot("tiny-pilot", "completion", 0.2), Privacy(5), seed=1)
    assert (small.n, small.verdict) == (12, "extend")
    assert "not powered" in small.why
    ambitious = readout(org, _pilot("pilot", "mastery", 0.6), Privacy(5), seed=1)
    assert ambitious.verdict == "stop"


def test_readout_of_fewer_than_k_learners_shows_nothing(org: Published) -> None:
    result = readout(org, _pilot("trio", "completion", 0.2), Privacy(5), seed=1)
    assert not result.shown and result.effect is None and result.verdict == ""
    # the sub-team k applies: a pilot is typically one team
    assert not readout(org, _pilot("tiny-pilot", "completion", 0.2), Privacy(5, 20), 1).shown


def test_plan_reads_its_baseline_from_the_published_build(org: Published) -> None:
    assert baseline_of(org, "completion", "control", P, 30, k=5) == pytest.approx(0.4)
    days = baseline_of(org, "days_to_competency", "control", S, 30, k=5)
    assert len(days) == 120 and np.median(days) == 24.0
    with pytest.raises(PilotError, match="cohort 'trio' derives from fewer than 5 learners"):
        baseline_of(org, "completion", "trio", P, 30, k=5)
    # all learners; the last quarters of the mart (control's learners of 2026Q2: 41 of 142
    # completed within 30 days, see pilot_org.py)
    assert baseline_of(org, "completion", "", P, 30, k=5) == pytest.approx(226 / 435)
    assert baseline_of(org, "completion", "control", P, 30, 5, quarters=2) == pytest.approx(
        41 / 142
    )
    with pytest.raises(PilotError, match="cohort 'control' derives from fewer than 5"):
        baseline_of(org, "completion", "control", P, 30, 5, quarters=1)
    planned = plan("completion", 0.2, 0.4, team_size=50).as_json()
    assert planned["per_arm"] == 107 and planned["detectable_lift"] > 0.2
    assert set(planned) == {
        "per_arm",
        "baseline",
        "lift",
        "power",
        "alpha",
        "method",
        "detectable_lift",
    }


# ---- projection ---------------------------------------------------------------------------------


def test_projection_of_500_people_at_1500_each() -> None:
    days_sooner = Interval(12.0, 11.0, 13.0)
    result = project(500, 1500.0, days_sooner, 250.0, {"value of a day sooner": "250 USD"})
    assert result.annual_cost == 750_000
    assert (result.low.benefit, result.estimate.benefit, result.high.benefit) == (
        1_375_000,
        1_500_000,
        1_625_000,
    )
    assert result.estimate.roi_pct == pytest.approx(100.0)
    assert result.low.roi_pct == pytest.approx(83.333, abs=0.001)
    assert result.estimate.payback_months == pytest.approx(6.0)
    assert result.high.payback_months < 6.0 < result.low.payback_months
    losing = project(500, 1500.0, Interval(-1.0, -2.0, 0.5), 250.0, {})
    assert losing.low.payback_months is None and losing.low.roi_pct < -100


def test_gain_of_a_readout_points_the_way_that_helps(org: Published) -> None:
    faster = readout(org, _pilot("pilot", "days_to_competency", -0.4), Privacy(5), seed=1)
    gain = gain_of(faster)
    assert gain.estimate == 12.0 and gain.low <= 12.0 <= gain.high
    with pytest.raises(PilotError, match="k rule"):
        gain_of(readout(org, _pilot("trio", "completion", 0.2), Privacy(5), seed=1))


def test_projection_counts_the_kpi_value_with_its_interval() -> None:
    days_sooner = Interval(12.0, 11.0, 13.0)
    kpi = Interval(1000.0, 400.0, 1600.0)  # money per employee and year
    result = project(500, 1500.0, days_sooner, 250.0, {}, kpi)
    assert (result.low.benefit, result.estimate.benefit, result.high.benefit) == (
        1_375_000 + 200_000,
        1_500_000 + 500_000,
        1_625_000 + 800_000,
    )


def test_kpi_value_of_a_pilot_is_its_did_valued_a_year(org: Published) -> None:
    """The planted org's tickets: did 3.0 (2.5 to 3.5) a day for pilot against control in
    2026Q3; at 2.0 a ticket a day that is 2,190 a year per employee (1,825 to 2,555)."""
    faster = readout(org, _pilot("pilot", "days_to_competency", -0.4), Privacy(5), seed=1)
    valued = RoiSettings(kpi_values={"tickets": 2.0})
    kpi = kpi_value_of(org, faster, valued, k=5)
    assert kpi.quarter == "2026Q3" and kpi.kpis == ("tickets",)
    assert kpi.per_employee is not None
    assert kpi.per_employee.estimate == pytest.approx(2190.0)
    assert (kpi.per_employee.low, kpi.per_employee.high) == pytest.approx((1825.0, 2555.0))
    projection = projection_of(faster, 500, 1500.0, 250.0, "USD", kpi)
    alone = projection_of(faster, 500, 1500.0, 250.0, "USD")
    assert projection.estimate.benefit == pytest.approx(alone.estimate.benefit + 500 * 2190.0)
    assert "tickets against control" in projection.assumptions["KPI value per employee and year"]
    # a KPI without a value counts nothing, and the assumption says so
    unvalued = kpi_value_of(org, faster, RoiSettings(), k=5)
    assert unvalued.per_employee is None
    said = projection_of(faster, 500, 1500.0, 250.0, "USD", unvalued).assumptions
    assert said["KPI value per employee and year"].startswith("none counted")
    # the trio's KPI row (3 learners) is under k: it counts nothing even when valued
    trio = readout(org, _pilot("trio", "days_to_competency", -0.4), Privacy(2), seed=1)
    assert kpi_value_of(org, trio, valued, k=5).per_employee is None


# ---- the command line ---------------------------------------------------------------------------


def plan_cli(
    settings: Settings, metric: str, lift: str, *options: str, check: bool = True
) -> CliResult:
    """`skillstream pilot plan --metric METRIC --lift LIFT OPTIONS`."""
    return run_cli(
        settings, "pilot", "plan", "--metric", metric, "--lift", lift, *options, check=check
    )


def test_cli_plan_prints_the_plan_as_json(org_settings: Settings) -> None:
    result = plan_cli(
        org_settings, "completion", "0.2", "--baseline-rate", "0.3", "--team-size", "60", "--json"
    )
    planned = json.loads(result.stdout)
    assert planned["per_arm"] == 103 and planned["baseline"] == 0.3
    assert (planned["lift"], planned["power"], planned["alpha"]) == (0.2, 0.8, 0.05)
    assert "continuity correction" in planned["method"]
    assert planned["detectable_lift"] == pytest.approx(
        detectable_proportion_lift(0.3, 60), abs=1e-9
    )


def test_cli_plan_reads_the_baseline_of_the_published_build(org_settings: Settings) -> None:
    result = plan_cli(org_settings, "completion", "0.2", "--subject", P)
    assert "107 learners per arm to show +20.0 points from a baseline of 0.4" in result.stdout
    assert "method: two proportions" in result.stdout
    everyone = plan_cli(
        org_settings, "completion", "0.2", "--subject", P, "--baseline-cohort", "all", "--json"
    )
    assert json.loads(everyone.stdout)["baseline"] == pytest.approx(226 / 435)
    refused = plan_cli(
        org_settings, "days_to_competency", "-0.4", "--baseline-rate", "0.5", check=False
    )
    assert refused.returncode == 1
    assert "observed days of the published build" in refused.stderr


def test_cli_readout_gives_each_configured_pilot_its_verdict(
    org_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "skillstream.toml"
    config.write_text(PILOTS)
    monkeypatch.setenv("SKILLSTREAM_CONFIG", str(config))
    lines = run_cli(org_settings, "pilot", "readout", "--json").stdout.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert (first["pilot"], first["verdict"], first["n"], first["baseline_n"]) == (
        "pilot",
        "scale",
        120,
        300,
    )
    assert first["difference"] == pytest.approx(0.4)
    assert second == {**second, "pilot": "trio", "hidden": "fewer than 5 learners on a side"}
    assert "verdict" not in second
    text = run_cli(org_settings, "pilot", "readout").stdout
    assert "verdict: SCALE" in text and "trio" in text and "not shown" in text
