from dataclasses import replace
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
