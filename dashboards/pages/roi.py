"""ROI per cohort and quarter: the published numbers, assumptions to edit (recomputed live with
the same formula), a sensitivity view, and the report as PDF, CSV or XLSX."""

from __future__ import annotations

import functools

import altair as alt
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream.dashboards import common, data, report, roi

build = common.published_or_stop("ROI")
common.require_marts(
    build, "roi_quarterly", "roi_assumptions", "learner_programs", "learner_skills"
)
filters = common.sidebar_filters(build, ("org", "team", "role", "program", "skill"))
k = data.k_anonymity()
baseline_name = data.baseline_cohort()

quarters = data.quarters(build)
if not quarters:
    st.info("No quarter has ROI figures yet.")
    st.stop()
quarter = st.selectbox("Quarter", quarters, index=len(quarters) - 1, key="roi_quarter")

st.subheader(f"Published ROI, {quarter}")
published = common.hide_small_groups(data.roi_quarterly(build, quarter), "learners", "cohort")
st.dataframe(
    published.drop(columns=[c for c in ("quarter",) if c in published.columns]),
    hide_index=True,
    width="stretch",
)
common.provenance(build, "roi", "ROI (Phillips)")

st.subheader("Assumptions")
st.caption("Edit any assumption: the ROI below is recomputed with the same formula as the report.")
published_assumptions = data.roi_assumptions(build)
values = dict(zip(published_assumptions["name"], published_assumptions["value"], strict=True))
assumptions: dict[str, float] = {}
columns = st.columns(3)
names = list(dict.fromkeys([*values, *roi.DEFAULT_ASSUMPTIONS]))
for index, name in enumerate(names):
    default = float(values.get(name, roi.DEFAULT_ASSUMPTIONS.get(name, 0.0)))
    unit = roi.ASSUMPTION_UNITS.get(name, "")
    assumptions[name] = columns[index % 3].number_input(
        name.replace("_", " "),
        value=default,
        min_value=0.0,
        step=max(default / 10, 1.0),
        help=unit,
        key=f"assumption_{name}",
    )
unknown = [n for n in values if n not in roi.DEFAULT_ASSUMPTIONS]
if unknown:
    st.caption(f"Listed by the mart but not used by this formula: {', '.join(unknown)}.")

inputs = [i for i in data.roi_inputs(build, quarter, filters) if i.learners >= k]
baseline = next((i for i in inputs if i.cohort == baseline_name), None)
if not inputs:
    st.info("No group is large enough to show.")
    st.stop()
results = pd.DataFrame([vars(roi.compute_roi(i, baseline, assumptions)) for i in inputs])
st.subheader("ROI with these assumptions")
if filters.chosen:
    st.caption(
        "Filtered to: " + "; ".join(f"{n} = {', '.join(v)}" for n, v in filters.chosen.items())
    )
st.dataframe(
    results[
        [
            "cohort",
            "learners",
            "costs",
            "benefits",
            "net_benefit",
            "roi_pct",
            "bcr",
            "payback_months",
        ]
    ],
    hide_index=True,
    width="stretch",
)
common.provenance(build, "roi", "ROI (Phillips)")

st.subheader("Sensitivity")
subjects = [i for i in inputs if i.cohort != baseline_name] or inputs
subject = st.selectbox("Cohort", [i.cohort for i in subjects], key="sensitivity_cohort")
chosen = next(i for i in subjects if i.cohort == subject)
central = roi.compute_roi(chosen, baseline, assumptions).roi_pct
bars = pd.DataFrame(
    [
        {"assumption": name, "change": label, "roi_pct": value}
        for name, low, high in roi.sensitivity(chosen, baseline, assumptions)
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
            x=alt.X("roi_pct:Q", title="ROI %"),
            x2=alt.datum(central),
            color=alt.Color("change:N", title=None),
            tooltip=["assumption", "change", alt.Tooltip("roi_pct:Q", format=".1f")],
        )
    )
    st.altair_chart(tornado, width="stretch", key="roi_tornado")
    st.caption(f"Centre line: ROI {central:.1f} % with the assumptions above.")
    common.provenance(build, "roi", "ROI (Phillips)")

st.subheader("Report")
st.caption(
    "The quarterly report of the published build, as `skillstream report roi` makes it "
    "(published assumptions, no filters)."
)
settings = settings_module.load()
try:
    quarter_report = report.load_published(settings, quarter)
except report.ReportError as error:
    st.warning(str(error))
else:
    columns = st.columns(3)
    mime = {
        "pdf": "application/pdf",
        "csv": "text/csv",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    for column, fmt in zip(columns, report.FORMATS, strict=True):
        column.download_button(
            f"Download {fmt.upper()}",
            data=functools.partial(report.render, quarter_report, fmt),
            file_name=f"skillstream-roi-{quarter}.{fmt}",
            mime=mime[fmt],
            key=f"download_{fmt}",
        )
