from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from skillstream.settings import SettingsError, load


def test_defaults_are_anchored_to_the_working_directory(tmp_path: Path) -> None:
    settings = load(environ={}, cwd=tmp_path)
    assert settings.home == tmp_path / ".skillstream"
    assert settings.warehouse == tmp_path / "data" / "warehouse.duckdb"
    assert settings.bootstrap == "localhost:9092"
    assert settings.mastery_threshold == 0.8
    assert settings.k_anonymity == 5
    assert settings.baseline_cohort == "control"


def test_environment_wins_over_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "skillstream.toml").write_text('bootstrap = "kafka:9093"\npartitions = 8\n')
    settings = load(environ={"SKILLSTREAM_PARTITIONS": "12"}, cwd=tmp_path)
    assert settings.bootstrap == "kafka:9093"
    assert settings.partitions == 12


def test_a_bad_value_names_its_origin(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SKILLSTREAM_PARTITIONS: expected int, got 'many'"):
        load(environ={"SKILLSTREAM_PARTITIONS": "many"}, cwd=tmp_path)


def test_counts_below_their_least_value_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SKILLSTREAM_TRANSFORM_BATCH_SIZE: must be at least 1"):
        load(environ={"SKILLSTREAM_TRANSFORM_BATCH_SIZE": "0"}, cwd=tmp_path)
    (tmp_path / "skillstream.toml").write_text("transform_land_rows = -5\n")
    with pytest.raises(SettingsError, match=r"transform_land_rows: must be at least 0, got -5"):
        load(environ={}, cwd=tmp_path)
    (tmp_path / "skillstream.toml").write_text("transform_land_rows = 0\n")
    assert load(environ={}, cwd=tmp_path).transform_land_rows == 0  # each batch on its own


def test_the_normaliser_nice_is_a_linux_nice_step_from_0_to_19(tmp_path: Path) -> None:
    assert load(environ={}, cwd=tmp_path).transform_normaliser_nice == 10
    with pytest.raises(SettingsError, match="NORMALISER_NICE: must be at most 19, got 20"):
        load(environ={"SKILLSTREAM_TRANSFORM_NORMALISER_NICE": "20"}, cwd=tmp_path)
    with pytest.raises(SettingsError, match="NORMALISER_NICE: must be at least 0, got -1"):
        load(environ={"SKILLSTREAM_TRANSFORM_NORMALISER_NICE": "-1"}, cwd=tmp_path)
    same = load(environ={"SKILLSTREAM_TRANSFORM_NORMALISER_NICE": "0"}, cwd=tmp_path)
    assert same.transform_normaliser_nice == 0


def test_an_unknown_setting_in_the_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "skillstream.toml").write_text('bootstrapp = "x:1"\n')
    with pytest.raises(SettingsError, match=r"unknown setting.*bootstrapp"):
        load(environ={}, cwd=tmp_path)


def test_salt_is_generated_once_per_home_and_kept(tmp_path: Path) -> None:
    settings = load(environ={}, cwd=tmp_path)
    first = settings.learner_salt()
    assert len(first) == 32
    assert load(environ={}, cwd=tmp_path).learner_salt() == first
    assert (settings.home / "salt").stat().st_mode & 0o777 == 0o600


def test_child_processes_see_the_same_settings(tmp_path: Path) -> None:
    settings = load(environ={"SKILLSTREAM_BOOTSTRAP": "h:1"}, cwd=tmp_path)
    again = load(environ=settings.as_env(), cwd=Path("/"))
    assert again.learner_salt() == settings.learner_salt()
    assert replace(again, salt="") == settings


def test_roi_section_from_the_file_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "skillstream.toml").write_text(
        "[roi]\nprogramme_cost_per_learner = 1200\nvalue_of_competent_day = 300\n"
        "[roi.kpi_values]\ntickets_resolved_per_day = 12.5\n"
    )
    settings = load(environ={"SKILLSTREAM_ROI_LOADED_HOURLY_COST": "75"}, cwd=tmp_path)
    assert settings.roi.programme_cost_per_learner == 1200.0
    assert settings.roi.value_of_competent_day == 300.0
    assert settings.roi.loaded_hourly_cost == 75.0
    assert settings.roi.kpi_values == {"tickets_resolved_per_day": 12.5}
    assert settings.roi.kpi_window_days == 30  # default
    # child processes (dbt) see the same section
    assert load(environ=settings.as_env(), cwd=tmp_path).roi == settings.roi


def test_roi_kpi_values_from_the_environment(tmp_path: Path) -> None:
    settings = load(environ={"SKILLSTREAM_ROI_KPI_VALUES": "a=1.5, b=2"}, cwd=tmp_path)
    assert settings.roi.kpi_values == {"a": 1.5, "b": 2.0}
    with pytest.raises(SettingsError, match="SKILLSTREAM_ROI_KPI_VALUES: expected kpi=value"):
        load(environ={"SKILLSTREAM_ROI_KPI_VALUES": "a"}, cwd=tmp_path)
    with pytest.raises(SettingsError, match="every KPI value must be a number"):
        load(environ={"SKILLSTREAM_ROI_KPI_VALUES": "a=lots"}, cwd=tmp_path)


def test_roi_errors_name_the_setting(tmp_path: Path) -> None:
    (tmp_path / "skillstream.toml").write_text("[roi]\nspend = 3\n")
    with pytest.raises(SettingsError, match=r"unknown setting\(s\) roi.spend"):
        load(environ={}, cwd=tmp_path)
    with pytest.raises(SettingsError, match="SKILLSTREAM_ROI_KPI_WINDOW_DAYS: expected int"):
        load(environ={"SKILLSTREAM_ROI_KPI_WINDOW_DAYS": "a month"}, cwd=tmp_path / "x")


PILOTS_TOML = """
baseline_cohort = "everyone-else"

[[pilots]]
cohort = "support-pilot"
program = "https://lms.example/courses/p1"
metric = "completion"
lift = 0.2
start = 2026-07-01

[[pilots]]
name = "faster SQL"
cohort = "analysts"
baseline_cohort = "control"
skill = "https://skills.example/sql"
metric = "days_to_competency"
lift = -0.4
start = "2026-08-03"
window_days = 45
"""


def test_pilots_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "skillstream.toml").write_text(PILOTS_TOML)
    first, second = load(environ={}, cwd=tmp_path).pilots
    assert (first.name, first.cohort, first.baseline_cohort) == (
        "support-pilot",
        "support-pilot",
        "everyone-else",
    )
    assert (first.subject, first.lift, first.start, first.window_days) == (
        "https://lms.example/courses/p1",
        0.2,
        date(2026, 7, 1),
        30,
    )
    assert (second.name, second.baseline_cohort, second.subject) == (
        "faster SQL",
        "control",
        "https://skills.example/sql",
    )
    assert (second.start, second.window_days, second.lift) == (date(2026, 8, 3), 45, -0.4)
    assert load(environ={}, cwd=tmp_path / "nowhere").pilots == ()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('cohort = "a"\nmetric = "completion"\nlift = 0.2', r"missing key\(s\) \['start'\]"),
        ('cohort = "a"\nmetric = "speed"\nlift = 0.2\nstart = 2026-07-01', "pilots\\[0\\].metric"),
        ('cohort = "a"\nmetric = "mastery"\nlift = 0.2\nstart = 2026-07-01', "needs the skill"),
        (
            'cohort = "a"\nmetric = "completion"\nprogram = "p"\nlift = 0\nstart = 2026-07-01',
            "lift in \\(-1, 1\\), not 0",
        ),
        (
            'cohort = "a"\nmetric = "completion"\nprogram = "p"\nlift = 0.2\nstart = "July"',
            "pilots\\[0\\]: Invalid isoformat",
        ),
        ('cohort = "a"\nmetric = "completion"\nlift = 0.2\nstart = 2026-07-01\nteam = "x"', "team"),
    ],
)
def test_a_bad_pilot_names_its_entry_and_key(tmp_path: Path, entry: str, message: str) -> None:
    (tmp_path / "skillstream.toml").write_text(f"[[pilots]]\n{entry}\n")
    with pytest.raises(SettingsError, match=message):
        load(environ={}, cwd=tmp_path)
