"""The organisation-wide case of a pilot (pilot.projection_of) as a page section: headcount,
spend per employee and the value of a unit of gain as inputs, cost, benefit, ROI % and payback
as a low / estimate / high band, and every assumption printed. Shown on the Pilot and ROI pages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from skillstream import pilot
from skillstream.dashboards.figures import Published
from skillstream.dashboards.suppression import Privacy
from skillstream.settings import Settings


def section(
    build: Published,
    settings: Settings,
    privacy: Privacy,
    results: list[pilot.Readout] | None = None,
    key: str = "project",
) -> None:
    """The section; `results` are the configured pilots' readouts, read out here when None.
    `key` keeps the inputs of two pages apart."""
    st.subheader("Project to the organisation")
    if results is None:
        results = [
            pilot.readout(build, p, privacy, settings.comparison_seed) for p in settings.pilots
        ]
    shown = [r for r in results if r.shown]
    if not shown:
        st.info(
            "No pilot readout can be shown (none configured in `[[pilots]]`, or the k rule "
            "hides it), so there is nothing to project."
        )
        return
    names = [r.pilot.name for r in shown]
    result = shown[names.index(st.selectbox("Pilot", names, key=f"{key}_pilot"))]
    kpi = pilot.kpi_value_of(build, result, settings.roi, privacy.k)
    projection = pilot.projection_of(
        result, *_inputs(result, settings, key), settings.roi.currency, kpi
    )
    cases = {"low": projection.low, "estimate": projection.estimate, "high": projection.high}
    table = pd.DataFrame(
        [
            {
                "case": name,
                "annual cost": projection.annual_cost,
                "benefit": case.benefit,
                "ROI %": case.roi_pct,
                "payback months": case.payback_months,
            }
            for name, case in cases.items()
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption("Assumptions: " + "; ".join(f"{k}: {v}" for k, v in projection.assumptions.items()))


def _inputs(result: pilot.Readout, settings: Settings, key: str) -> tuple[int, float, float]:
    """Headcount, spend per employee per year and the value of one unit of gain."""
    columns = st.columns(3)
    headcount = columns[0].number_input(
        "Headcount",
        value=settings.roi.projection_headcount,
        min_value=1,
        step=50,
        key=f"{key}_headcount",
    )
    spend = columns[1].number_input(
        "Spend per employee per year",
        value=settings.roi.projection_spend_per_employee,
        min_value=1.0,
        key=f"{key}_spend",
    )
    value = columns[2].number_input(
        "Value of one day sooner at competency"
        if result.pilot.metric == "days_to_competency"
        else "Value of one more employee reaching the outcome",
        value=pilot.default_unit_value(result, settings.roi),
        min_value=0.0,
        key=f"{key}_value",
    )
    return int(headcount), float(spend), float(value)
