"""Team × skill mastery (the capability matrix) with values in its cells, weakest first, and a
drill into one skill, opened by a click on a cell."""

from __future__ import annotations

import altair as alt
import streamlit as st

from skillstream.dashboards import common, data, figures, labels, views

build = common.published_or_stop("Capability")
common.require_marts(build, "learner_skills")
filters = common.sidebar_filters(build)
common.note_ignored(filters, "learner_skills")

privacy = data.privacy()
shown = views.capability(build, filters, privacy)
common.note_hidden(shown, what="team × skill cell")
matrix = shown.values.dropna(subset=["mastery_rate"])
if shown.values.empty:
    common.nothing_to_show(filters, shown.k)
    st.stop()


names = figures.subject_names(build)


def _skill_name(skill_id: str) -> str:
    return labels.subject_name(skill_id, names)


matrix = matrix.assign(skill=matrix["skill_id"].map(_skill_name))
# weakest first: teams and skills by their mean mastery, lowest at the top and left
team_order = list(matrix.groupby("team")["mastery_rate"].mean().sort_values().index)
skill_order = list(matrix.groupby("skill")["mastery_rate"].mean().sort_values().index)
cells = matrix.sort_values(["mastery_rate", "team", "skill"]).reset_index(drop=True)
if not cells.empty:
    lowest = cells.iloc[0]
    st.markdown(
        f"Lowest team × skill: **{lowest['team']} on {lowest['skill']}**, "
        f"{lowest['mastery_rate']:.0%} of {int(lowest['learners'])} mastered. "
        "Click a cell to open its drill-down below."
    )
clicked = alt.selection_point(name="cell", fields=["team", "skill_id"], on="click")
base = alt.Chart(matrix, title="Share of team members who mastered each skill").encode(
    x=alt.X("skill:N", title="Skill", sort=skill_order, axis=alt.Axis(labelAngle=0)),
    y=alt.Y("team:N", title="Team", sort=team_order),
)
rects = (
    base.mark_rect()
    .encode(
        color=alt.Color(
            "mastery_rate:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), legend=None
        ),
        tooltip=[
            "team",
            "skill",
            "learners",
            "mastered",
            alt.Tooltip("mastery_rate:Q", format=".0%"),
        ],
    )
    .add_params(clicked)
)
values = base.mark_text(fontSize=13).encode(
    text=alt.Text("mastery_rate:Q", format=".0%"),
    # dark text on light cells, light on dark
    color=alt.condition("datum.mastery_rate > 0.5", alt.value("white"), alt.value("black")),
)
event = st.altair_chart(
    (rects + values).properties(height=alt.Step(36)),
    width="stretch",
    key="capability_heatmap",
    on_select="rerun",
    selection_mode="cell",
)
chosen_cells = event.selection.get("cell", []) if event else []
# a new click opens its cell; afterwards the drill's own choices stand
if chosen_cells and chosen_cells[0] != st.session_state.get("opened_cell"):
    st.session_state["opened_cell"] = chosen_cells[0]
    st.session_state["drill_skill"] = chosen_cells[0]["skill_id"]
    st.session_state["drill_team"] = chosen_cells[0]["team"]
    st.session_state["drill_by"] = "role"
common.provenance(build, "capability")

st.subheader("Drill into a skill")
left, right = st.columns(2)
skill = left.selectbox(
    "Skill",
    sorted(shown.values["skill_id"].unique()),
    key="drill_skill",
    format_func=_skill_name,
)
every_team = "all teams"
team = right.selectbox(
    "Team", [every_team, *sorted(shown.values["team"].unique())], key="drill_team"
)
by = st.radio("By", ["role", "cohort", "team"], horizontal=True, key="drill_by")
if team != every_team:
    filters = figures.Filters({**filters.chosen, "team": (team,)})
drilled = views.drill(build, filters, skill, by, privacy)
common.note_hidden(drilled)
columns = ["learners", "mastery_rate", "median_days_to_competency", "p75_days_to_competency"]
drill = drilled.values.rename(columns={by: "group"})[["group", *columns, "mean_latest_score"]]
if drill.empty:
    common.nothing_to_show(filters, drilled.k)
else:
    chart = (
        alt.Chart(
            drill,
            title=f"{_skill_name(skill)}"
            + ("" if team == every_team else f" in {team}")
            + f": mastery by {by}",
        )
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
    shown, config = labels.readable(table)
    config["group"] = st.column_config.TextColumn(by.capitalize())
    st.dataframe(shown, hide_index=True, width="stretch", key="drill_table", column_config=config)
