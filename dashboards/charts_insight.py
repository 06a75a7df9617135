"""The Engagement page's weekday × hour heatmap, the Content page's drop-off funnel and the At
risk page's shares: their drawing functions, and each as one section a page places with one
call. Data come from views.py only, after the k rule."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from skillstream.dashboards import common, data, definitions, figures, labels, views
from skillstream.dashboards.suppression import Privacy

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # ISO 1-7


def weekday_hour_heatmap(cells: pd.DataFrame, measure: str) -> alt.Chart:
    """Weekday rows × UTC hour columns, coloured by the measure; a hidden cell stays blank."""
    shown = cells.dropna(subset=[measure]).assign(
        day=lambda frame: frame["weekday"].map(lambda day: WEEKDAYS[int(day) - 1])
    )
    title = measure.replace("_", " ").capitalize()
    return (
        alt.Chart(shown, title=f"{title} by weekday and hour the session started (UTC)")
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="Hour (UTC)", scale=alt.Scale(domain=list(range(24)))),
            y=alt.Y("day:O", title=None, sort=list(WEEKDAYS), scale=alt.Scale(domain=WEEKDAYS)),
            color=alt.Color(f"{measure}:Q", title=title),
            tooltip=["day", "hour", "active_learners", "sessions"],
        )
    )


def step_label(step_order: int, step_id: str, step_kind: str) -> str:
    """'0 launched', '2 module-2' (the module id's last path segment), 'N completed'."""
    if step_kind == "module":
        return f"{step_order} {step_id.rstrip('/').rsplit('/', 1)[-1]}"
    return f"{step_order} {step_kind}"


def funnel_chart(steps: pd.DataFrame) -> alt.Chart:
    """One program's steps in order, a bar per cohort: the share of its launched learners who
    reached each step. A step hidden by the k rule has no bar."""
    shown = steps.dropna(subset=["learners_reached"]).assign(
        step=lambda frame: [
            step_label(int(row.step_order), row.step_id, row.step_kind)
            for row in frame.itertuples()
        ],
        reached_share=lambda frame: frame["learners_reached"] / frame["launched"],
    )
    order = list(dict.fromkeys(shown.sort_values("step_order")["step"]))
    return (
        alt.Chart(shown, title="Share of launched learners who reached each step")
        .mark_bar()
        .encode(
            x=alt.X("step:N", title="Step", sort=order),
            xOffset=alt.XOffset("cohort:N"),
            y=alt.Y("reached_share:Q", title="Share of launched", axis=alt.Axis(format="%")),
            color=alt.Color("cohort:N", title="Cohort"),
            tooltip=["cohort", "step", "step_id", "learners_reached", "launched"],
        )
    )


def show_heatmap(build: figures.Published, filters: figures.Filters, privacy: Privacy) -> None:
    """The Engagement page's 'When' section (marts.engagement_by_hour)."""
    st.subheader("When learners start sessions")
    if figures.missing_tables(build, "engagement_by_hour"):
        st.info(
            "This build has no marts.engagement_by_hour: run `skillstream build` to see when "
            "learners study."
        )
        return
    common.note_ignored(filters, "engagement_by_hour")
    shown = views.engagement_by_weekday_hour(build, filters, privacy)
    common.note_hidden(shown, what="weekday × hour cell")
    if shown.values.empty:
        st.info("No weekday × hour cell has enough learners to show.")
        return
    measure = st.radio(
        "Heatmap of", ["sessions", "active_learners"], horizontal=True, key="engagement_when"
    )
    chart = weekday_hour_heatmap(shown.values, measure)
    st.altair_chart(chart, width="stretch", key="engagement_heatmap")
    common.provenance(build, "engagement_by_hour", "engagement by weekday and hour")


def show_funnel(build: figures.Published, privacy: Privacy) -> None:
    """The Content page's drop-off section (marts.program_funnel): one program's funnel per
    cohort, as a chart and a table."""
    st.subheader("Drop-off per program")
    if figures.missing_tables(build, "program_funnel"):
        st.info(
            "This build has no marts.program_funnel: run `skillstream build` to see where "
            "learners stop."
        )
        return
    shown = views.program_funnel(build, figures.Filters(), privacy)
    common.note_hidden(shown, what="cohort × step")
    if shown.values.empty:
        st.info("No program has a cohort with enough learners to show its funnel.")
        return
    programs = list(dict.fromkeys(shown.values["program_id"]))
    program = st.selectbox(
        "Program", programs, key="content_funnel_program", format_func=common.subject_name(build)
    )
    chosen = shown.values["program_id"] == program
    st.altair_chart(funnel_chart(shown.values[chosen]), width="stretch", key="content_funnel_chart")
    table = shown.table()[chosen.to_numpy()].drop(columns=["program_id", "step_kind"])
    table, config = labels.readable(table)
    st.dataframe(
        table, hide_index=True, width="stretch", column_config=config, key="content_funnel"
    )
    common.provenance(build, "program_funnel", "drop-off")


def at_risk_trend_chart(weeks: pd.DataFrame, colour: alt.Color) -> alt.Chart:
    """Weeks × share of enrolled learners at risk, a line per cohort; a week whose share the k
    rule hid has no point."""
    shown = weeks.dropna(subset=["at_risk_share"])
    return (
        alt.Chart(shown, title="Share of enrolled learners at risk at each week's end")
        .mark_line(point=True)
        .encode(
            x=alt.X("week_start:T", title="Week"),
            y=alt.Y("at_risk_share:Q", title="Share at risk", axis=alt.Axis(format="%")),
            color=colour,
            tooltip=[
                "week_start",
                "cohort",
                "enrolled",
                "at_risk",
                alt.Tooltip("at_risk_share:Q", format=".1%"),
            ],
        )
    )


AT_RISK_NAMES = (
    "A manager who holds the roster lists their at-risk learners by name on their own machine: "
    "`skillstream report at-risk --roster roster.csv --out at-risk.csv`."
)


def show_at_risk(build: figures.Published, filters: figures.Filters, privacy: Privacy) -> None:
    """The At risk page's section (marts.at_risk_weekly): the latest week's share at risk per
    program and cohort (per team too under a team or role filter, or when asked), then one
    program's weekly trend per cohort."""
    if figures.missing_tables(build, "at_risk_weekly"):
        st.info(
            "This build has no marts.at_risk_weekly: run `skillstream build` to see learners "
            "at risk."
        )
        return
    definition = {anchor: text for anchor, _, text in definitions.METRICS}["at-risk"]
    st.caption(f"At risk: {definition}. {AT_RISK_NAMES}")
    common.note_ignored(filters, "at_risk_weekly")
    subteam = bool(filters.values("team") or filters.values("role"))
    if subteam:
        st.caption("Per team, as a team or role filter is chosen.")
    per_team = subteam or st.toggle("Per team", key="at_risk_per_team")
    latest = views.at_risk_latest(build, filters, per_team, privacy)
    if latest.values.empty:
        common.nothing_to_show(filters, latest.k)
        return
    week = pd.Timestamp(latest.values["week_start"].iloc[0]).date()
    st.subheader(f"Week starting {week.isoformat()}")
    common.note_hidden(latest, what="program × cohort" + (" × team" if per_team else "") + " group")
    table = latest.table().drop(columns="week_start")
    table["program_id"] = table["program_id"].map(common.subject_name(build))
    table, config = labels.readable(table)
    st.dataframe(
        table, hide_index=True, width="stretch", column_config=config, key="at_risk_latest"
    )
    common.provenance(build, "at_risk", "at risk")
    _show_at_risk_trend(build, filters, privacy)


def _show_at_risk_trend(
    build: figures.Published, filters: figures.Filters, privacy: Privacy
) -> None:
    st.subheader("Weekly trend per cohort")
    programs = filters.values("program") or data.filter_options(build).get("program", [])
    program = st.selectbox(
        "Program", programs, key="at_risk_program", format_func=common.subject_name(build)
    )
    if program is None:
        return
    trend = views.at_risk_trend(build, filters, program, privacy)
    common.note_hidden(trend, what="week × cohort group")
    if trend.values["at_risk_share"].isna().all():
        st.info("No week of this program has a cohort with enough learners at risk and not.")
        return
    chart = at_risk_trend_chart(trend.values, common.cohort_colour(build))
    st.altair_chart(chart, width="stretch", key="at_risk_trend")
    common.provenance(build, "at_risk", "at risk")
