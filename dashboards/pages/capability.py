"""Team × skill mastery (the capability matrix), and a drill into one skill."""

from __future__ import annotations

import altair as alt
import streamlit as st

from skillstream.dashboards import common, data, views

build = common.published_or_stop("Capability")
common.require_marts(build, "learner_skills")
filters = common.sidebar_filters(build)
common.note_ignored(filters, "learner_skills")

privacy = data.privacy()
shown = views.capability(build, filters, privacy)
common.note_hidden(shown, what="team × skill cell")
matrix = shown.values.dropna(subset=["mastery_rate"])
if shown.values.empty:
    st.info("No group is large enough to show.")
    st.stop()

heatmap = (
    alt.Chart(matrix, title="Share of team members who mastered each skill")
    .mark_rect()
    .encode(
        x=alt.X(
            "skill_id:N",
            title="Skill",
            axis=alt.Axis(labelAngle=0, labelExpr="replace(datum.value, regexp('^.*/'), '')"),
        ),
        y=alt.Y("team:N", title="Team"),
        color=alt.Color(
            "mastery_rate:Q",
            title="Mastered",
            scale=alt.Scale(domain=[0, 1], scheme="blues"),
            legend=alt.Legend(format="%"),
        ),
        tooltip=[
            "team",
            "skill_id",
            "learners",
            "mastered",
            alt.Tooltip("mastery_rate:Q", format=".0%"),
        ],
    )
)
st.altair_chart(heatmap, width="stretch", key="capability_heatmap")
common.provenance(build, "capability")

st.subheader("Drill into a skill")
skill = st.selectbox("Skill", sorted(shown.values["skill_id"].unique()), key="drill_skill")
by = st.radio("By", ["role", "cohort", "team"], horizontal=True, key="drill_by")
drilled = views.drill(build, filters, skill, by, privacy)
common.note_hidden(drilled)
columns = ["learners", "mastery_rate", "median_days_to_competency", "p75_days_to_competency"]
drill = drilled.values.rename(columns={by: "group"})[["group", *columns, "mean_latest_score"]]
if drill.empty:
    st.info("No group is large enough to show.")
else:
    chart = (
        alt.Chart(drill, title=f"{skill}: mastery by {by}")
        .mark_bar()
        .encode(
            x=alt.X(
                "mastery_rate:Q",
                title="Mastered",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y("group:N", title=None),
            tooltip=[
                "group",
                "learners",
                alt.Tooltip("mastery_rate:Q", format=".0%"),
                "median_days_to_competency",
                "p75_days_to_competency",
            ],
        )
    )
    st.altair_chart(chart, width="stretch", key="capability_drill")
    common.provenance(build, "days_to_competency", "mastery and days to competency")
    table = drilled.table().rename(columns={by: "group"})[["group", *columns, "mean_latest_score"]]
    st.dataframe(table.astype(str), hide_index=True, width="stretch", key="drill_table")
