"""The settings reach the models as dbt vars, and dbt_project.yml declares each with the
settings' default (so `dbt` run by hand computes what `skillstream build` does)."""

from __future__ import annotations

import yaml

from skillstream.build import dbt_vars
from skillstream.settings import Settings
from tests.conftest import REPO, make_settings


def project_vars() -> dict[str, object]:
    project = yaml.safe_load((REPO / "dbt_project" / "dbt_project.yml").read_text())
    return project["vars"]


def test_every_var_the_build_passes_has_the_settings_default(settings: Settings) -> None:
    declared = project_vars()
    for name, value in dbt_vars(settings).items():
        assert name in declared, name
        if not isinstance(value, dict):
            assert declared[name] == value, name


def test_the_at_risk_window_is_a_setting(tmp_path) -> None:
    changed = make_settings(tmp_path, at_risk_inactive_days="14")
    assert dbt_vars(changed)["at_risk_inactive_days"] == 14
