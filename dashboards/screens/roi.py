"""ROI per cohort and quarter: the published numbers, assumptions to edit (recomputed live from
the mart's components), a sensitivity view, and the report as PDF, CSV or XLSX."""

from __future__ import annotations

import functools

import altair as alt
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream.dashboards import common, data, figures, labels, projection, report, roi, views

build = common.published_or_stop("ROI")
common.require_marts(build, "roi_quarterly", "roi_assumptions")
st.caption(
    "ROI is computed per quarter and cohort (marts.roi_quarterly); the sidebar filters do not "
    "apply to it. A learner counts in the quarter of their first program statement."
)
privacy = data.privacy()
baseline_name = data.baseline_cohort()


def with_baseline_marked(frame: pd.DataFrame) -> pd.DataFrame:
    """The baseline's net benefit, ROI, BCR and payback read "baseline", not a loss."""
    marked = frame.astype(object)
    is_baseline = marked["cohort"] == baseline_name
    for column in ("net_benefit", "roi_pct", "bcr", "payback_months"):
        marked.loc[is_baseline, column] = "baseline"
    return marked


quarters = figures.quarters(build)
if not quarters:
    st.info(
        "No quarter has ROI figures yet: land statements of learners in a cohort, then run "
        "`skillstream build`."
    )
    st.stop()
quarter = st.selectbox("Quarter", quarters, index=len(quarters) - 1, key="roi_quarter")

st.subheader(f"Published ROI, {quarter}")
columns = [
    "cohort",
    "learners",
    "costs",
    "benefits",
    "net_benefit",
    "roi_pct",
    "bcr",
    "payback_months",
]
shown = views.roi(build, quarter, privacy)
common.note_hidden(shown, what="cohort")
published = shown.values
currency = settings_module.load().roi.currency
table, config = labels.readable(with_baseline_marked(published[columns]), currency)
st.dataframe(table, hide_index=True, width="stretch", column_config=config)
if baseline_name in set(published["cohort"]):
    st.caption(
        f"{baseline_name} is the baseline the other cohorts are compared against: its benefits "
        "are measured against itself, so it has no ROI of its own."
    )
common.provenance(build, "roi", "ROI (Phillips)")

st.subheader("Assumptions")
assumptions = figures.roi_assumptions(build)
numeric = {
    r.name: float(r.numeric_value)
    for r in assumptions.itertuples()
    if r.numeric_value is not None and not pd.isna(r.numeric_value)
}
changeable = roi.editable(numeric)
st.caption(
    "Edit an assumption: ROI below is recomputed from the mart's cost and benefit components. "
    "The hourly cost scales every learner's hourly cost (the roster's too) by the same factor."
)
edited: dict[str, float] = {}
inputs = st.columns(3)
for index, (name, value) in enumerate(changeable.items()):
    edited[name] = inputs[index % 3].number_input(
        roi.EDITABLE.get(name) or labels.assumption_label(name),
        value=value,
        min_value=0.0,
        step=max(round(value / 10, 2), 1.0),
        key=f"assumption_{name}",
    )
with st.expander("Every assumption of the published build"):
    table, config = labels.readable(assumptions.drop(columns="numeric_value"))
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)

rows = figures.roi_components(published)
if not rows:
    st.info("No group is large enough to show.")
    st.stop()
results = pd.DataFrame([vars(result) for result in roi.scenario(rows, numeric, edited)])
st.subheader("ROI with these assumptions")
table, config = labels.readable(results, currency)
st.dataframe(table, hide_index=True, width="stretch", column_config=config)
common.provenance(build, "roi", "ROI (Phillips)")

st.subheader("Sensitivity")
subjects = [r for r in rows if r.cohort != baseline_name] or rows
subject = st.selectbox("Cohort", [r.cohort for r in subjects], key="sensitivity_cohort")
chosen = next(r for r in subjects if r.cohort == subject)
central = roi.compute_roi(chosen, numeric, edited).roi_pct
bars = pd.DataFrame(
    [
        {
            "assumption": roi.EDITABLE.get(name) or labels.assumption_label(name),
            "change": label,
            "roi_pct": value,
        }
        for name, low, high in roi.sensitivity(chosen, numeric, edited)
        for label, value in (("−50 %", low), ("+50 %", high))
        if value is not None
    ]
)
if central is not None and not bars.empty:
    tornado = (
        alt.Chart(bars, title=f"ROI % of {subject} when one assumption moves ±50 %")
        .mark_bar()
        .encode(
            y=alt.Y("assumption:N", title=None),
            x=alt.X("roi_pct:Q", title="ROI %", axis=alt.Axis(format=",.0f")),
            x2=alt.datum(central),
            color=alt.Color("change:N", title=None),
            tooltip=["assumption", "change", alt.Tooltip("roi_pct:Q", format=".1f")],
        )
    )
    st.altair_chart(tornado, width="stretch", key="roi_tornado")
    st.caption(f"Bars start at ROI {central:.1f} %, the value with the assumptions above.")
    common.provenance(build, "roi", "ROI (Phillips)")

projection.section(build, settings_module.load(), privacy, key="roi_project")

st.subheader("Report")
try:
    quarter_report = report.with_scenario(
        report.load_published(settings_module.load(), quarter), edited
    )
except report.ReportError as error:
    st.warning(str(error))
else:
    scenario = quarter_report.scenario
    st.caption(
        "The quarter's report of the published build, the same file `skillstream report roi` "
        "writes."
        if scenario is None
        else "The quarter's report of the published build with the assumptions edited above as "
        "a scenario, labelled as such beside the published figures: "
        + "; ".join(
            f"{labels.assumption_label(r['name'])} {r['published']:,.10g} → {r['scenario']:,.10g}"
            for r in scenario.rows()
        )
        + "."
    )
    suffix = "" if scenario is None else "-scenario"
    mime = {
        "pdf": "application/pdf",
        "csv": "text/csv",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    for column, fmt in zip(st.columns(3), report.FORMATS, strict=True):
        column.download_button(
            f"Download {fmt.upper()}",
            data=functools.partial(report.render, quarter_report, fmt),
            file_name=f"skillstream-roi-{quarter}{suffix}.{fmt}",
            mime=mime[fmt],
            key=f"download_{fmt}",
        )
