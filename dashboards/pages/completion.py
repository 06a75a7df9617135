"""Completion rate per cohort and program, from marts.cohort_outcomes."""

from __future__ import annotations

import altair as alt
import streamlit as st

from skillstream.dashboards import data

st.title("Completion")
build = data.published_build()
if build is None:
    st.info("No build has been published yet. Run `skillstream build` after landing statements.")
    st.stop()
if not build.newest_is_published and build.newest_build_id != build.build_id:
    reasons = "; ".join(f"{f['check']} ({f['detail']})" for f in build.newest_failures[:3])
    st.warning(
        f"The newest build {build.newest_build_id} was held back by the quality gate: {reasons}. "
        f"Showing the last published build."
    )
st.caption(
    f"Build {build.build_id}, built {build.built_at} UTC · "
    "completion rate = completed / enrolled (docs/design.md §4)"
)

chosen = st.multiselect("Program", data.programs(build), placeholder="All programs")
k = data.k_anonymity()
frame = data.completion_by_cohort(build, chosen, k)
hidden = frame[frame["is_small_group"]]
shown = frame[~frame["is_small_group"]].drop(columns="is_small_group")
if not hidden.empty:
    st.caption(f"{len(hidden)} group(s) with fewer than {k} learners are hidden.")
if shown.empty:
    st.info("No group is large enough to show.")
    st.stop()

chart = (
    alt.Chart(shown, title="Completion rate by cohort")
    .mark_bar()
    .encode(
        x=alt.X(
            "completion_rate:Q",
            title="Completion rate",
            axis=alt.Axis(format="%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
        y=alt.Y("cohort:N", title=None),
        color=alt.Color("cohort:N", legend=None),
        row=alt.Row("program_id:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
        tooltip=[
            "program_id",
            "cohort",
            "enrolled",
            "completed",
            alt.Tooltip("completion_rate:Q", format=".1%"),
        ],
    )
    .properties(height=90)
)
st.altair_chart(chart, width="stretch", key="completion_chart")
table = shown.assign(completion_rate=shown["completion_rate"].map(lambda rate: f"{rate:.1%}"))
st.table(
    table.rename(columns={"completion_rate": "completion"}).set_index(["program_id", "cohort"])
)
