"""Weekly engagement per cohort: active learners, sessions, minutes, practice."""

from __future__ import annotations

import altair as alt
import streamlit as st

from skillstream import warehouse
from skillstream.dashboards import charts_insight, common, data, labels, verdicts, views

build = common.published_or_stop("Engagement")
common.require_marts(build, "engagement_weekly")
filters = common.sidebar_filters(build)
common.note_ignored(filters, "engagement_weekly")

shown = views.engagement(build, filters, data.privacy())
common.note_hidden(shown, what="week × cohort group")
weekly = shown.values
if weekly.empty:
    st.info("No group is large enough to show.")
    st.stop()

measure = st.radio(
    "Measure",
    warehouse.ENGAGEMENT_MEASURES,
    horizontal=True,
    format_func=labels.label,
    key="engagement_measure",
)
chart = (
    alt.Chart(weekly, title=f"{labels.label(measure)} per week")
    .mark_line(point=True)
    .encode(
        x=alt.X("week_start:T", title="Week"),
        y=alt.Y(f"{measure}:Q", title=None, axis=alt.Axis(format=",.0f", tickMinStep=1)),
        color=common.cohort_colour(build),
        tooltip=["week_start", "cohort", measure],
    )
)
st.altair_chart(chart, width="stretch", key="engagement_chart")
common.provenance(build, "engagement")

totals = weekly.groupby("cohort", as_index=False).agg(
    weeks=("week_start", "nunique"),
    sessions=("sessions", "sum"),
    active_minutes=("active_minutes", "sum"),
    practice_attempts=("practice_attempts", "sum"),
)
table, config = labels.readable(totals)
st.dataframe(table, hide_index=True, width="stretch", column_config=config)


def efficiency() -> None:
    """Each cohort that spent less seat time than the baseline and mastered more, in words."""
    baseline = data.baseline_cohort()
    mastery = views.cohorts(build, filters, data.privacy()).skills.values.set_index("cohort")
    minutes = totals.set_index("cohort")["active_minutes"]
    if baseline not in minutes.index or baseline not in mastery.index:
        return
    for cohort in minutes.index.drop(baseline).intersection(mastery.index):
        sentence = verdicts.efficiency_sentence(
            cohort,
            baseline,
            (minutes[cohort], minutes[baseline]),
            (mastery.loc[cohort, "mastery_rate"], mastery.loc[baseline, "mastery_rate"]),
        )
        if sentence:
            st.success(sentence)


efficiency()

charts_insight.show_heatmap(build, filters, data.privacy())
