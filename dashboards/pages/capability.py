"""Team × skill mastery (the capability matrix), and a drill into one skill."""

from __future__ import annotations

import altair as alt
import streamlit as st

from skillstream.dashboards import common, data

build = common.published_or_stop("Capability")
common.require_marts(build, "learner_skills")
filters = common.sidebar_filters(build)
common.note_ignored(filters, "learner_skills")

matrix = common.hide_small_groups(
    data.capability_by_team(build, filters), "learners", "team × skill cell"
)
if matrix.empty:
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
skill = st.selectbox("Skill", sorted(matrix["skill_id"].unique()), key="drill_skill")
by = st.radio("By", ["role", "cohort", "team"], horizontal=True, key="drill_by")
drill = common.hide_small_groups(data.skill_drill(build, filters, skill, by), "learners")
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
    st.dataframe(drill, hide_index=True, width="stretch")
