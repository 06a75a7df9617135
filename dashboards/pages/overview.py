"""Headline KPIs against their targets, with the trend by quarter."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream.dashboards import common, data

build = common.published_or_stop("Overview")
common.require_marts(build, "learner_programs", "learner_skills")
filters = common.sidebar_filters(build)
settings = settings_module.load()
k = data.k_anonymity()

programs = data.program_kpis_by_quarter(build, filters)
skills = data.skill_kpis_by_quarter(build, filters)
trend = programs.merge(skills, on="quarter", how="outer", suffixes=("", "_skills"))
trend = trend.sort_values("quarter").reset_index(drop=True)
# Each side's KPIs are blanked where that side has fewer than k learners; a quarter with
# neither side large enough is hidden.
small_programs = trend["learners"].fillna(0) < k
small_skills = trend["learners_skills"].fillna(0) < k
trend.loc[small_programs, ["enrolments", "completion_rate", "seat_time_hours"]] = None
trend.loc[small_skills, ["mastery_rate", "median_days_to_competency", "retention_30d_rate"]] = None
trend.loc[trend["retention_checked"].fillna(0) < k, "retention_30d_rate"] = None
small = small_programs & small_skills
if (small_programs ^ small_skills).any():
    st.caption(f"Some KPIs of groups with fewer than {k} learners are hidden.")
if small.any():
    st.caption(f"{int(small.sum())} quarter(s) with fewer than {k} learners are hidden.")
trend = trend[~small].reset_index(drop=True)
if trend.empty:
    st.info("No group is large enough to show.")
    st.stop()

latest = trend.iloc[-1]
previous = trend.iloc[-2] if len(trend) > 1 else None
st.subheader(f"Quarter {latest['quarter']}")


def _delta(column: str, scale: float = 1.0, suffix: str = "") -> str | None:
    if previous is None or pd.isna(previous[column]) or pd.isna(latest[column]):
        return None
    return f"{(latest[column] - previous[column]) * scale:+.1f}{suffix} vs {previous['quarter']}"


def _percent(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.0%}"


columns = st.columns(4)
columns[0].metric(
    "Completion rate",
    _percent(latest["completion_rate"]),
    _delta("completion_rate", 100, " pts"),
    help=f"Target {settings.target_completion_rate:.0%}",
)
enrolments = "–" if pd.isna(latest["enrolments"]) else int(latest["enrolments"])
columns[0].caption(f"target {settings.target_completion_rate:.0%} · n = {enrolments}")
columns[1].metric(
    "Mastery rate",
    _percent(latest["mastery_rate"]),
    _delta("mastery_rate", 100, " pts"),
    help=f"Target {settings.target_mastery_rate:.0%}",
)
columns[1].caption(f"target {settings.target_mastery_rate:.0%}")
days = latest["median_days_to_competency"]
columns[2].metric(
    "Median days to competency",
    "–" if pd.isna(days) else f"{days:.1f}",
    _delta("median_days_to_competency"),
    delta_color="inverse",
)
columns[2].caption(f"target ≤ {settings.target_median_days_to_competency:g} days")
retention = latest["retention_30d_rate"]
columns[3].metric(
    "30-day retention",
    _percent(retention) if int(latest["retention_checked"] or 0) >= k else "–",
    _delta("retention_30d_rate", 100, " pts"),
)
checked = int(latest["retention_checked"] or 0)
columns[3].caption(f"target {settings.target_retention_30d_rate:.0%} · checked {checked}")
common.provenance(build, "completion_rate", "completion, mastery, days to competency, retention")

if not data.missing_tables(build, "roi_quarterly") and latest["quarter"] in data.quarters(build):
    roi_rows = data.roi_quarterly(build, str(latest["quarter"]))
    roi_rows = roi_rows[
        (roi_rows["cohort"] != data.baseline_cohort()) & (roi_rows["learners"] >= k)
    ]
    for slot, row in zip(st.columns(4), roi_rows.itertuples(), strict=False):
        slot.metric(
            f"ROI, {row.cohort}",
            "–" if pd.isna(row.roi_pct) else f"{row.roi_pct:.0f} %",
            help="marts.roi_quarterly, published assumptions; the cohort filter does not apply",
        )
        slot.caption(f"target {settings.target_roi_pct:.0f} % · {int(row.learners)} learners")
    if not roi_rows.empty:
        common.provenance(build, "roi", "ROI (Phillips)")

st.subheader("Trend by quarter")
long = trend.melt(
    id_vars="quarter",
    value_vars=["completion_rate", "mastery_rate", "retention_30d_rate"],
    var_name="kpi",
    value_name="value",
).dropna()
targets = pd.DataFrame(
    {
        "kpi": ["completion_rate", "mastery_rate", "retention_30d_rate"],
        "target": [
            settings.target_completion_rate,
            settings.target_mastery_rate,
            settings.target_retention_30d_rate,
        ],
    }
)
lines = (
    alt.Chart(long)
    .mark_line(point=True)
    .encode(
        x=alt.X("quarter:N", title=None),
        y=alt.Y("value:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("kpi:N", title="KPI"),
        tooltip=["quarter", "kpi", alt.Tooltip("value:Q", format=".1%")],
    )
)
rules = alt.Chart(targets).mark_rule(strokeDash=[4, 4]).encode(y="target:Q", color="kpi:N")
st.altair_chart(
    (lines + rules).properties(title="KPIs against targets (dashed)"),
    width="stretch",
    key="overview_trend",
)
common.provenance(build, "completion_rate", "the KPIs")

table = trend[
    [
        "quarter",
        "learners",
        "enrolments",
        "completion_rate",
        "mastery_rate",
        "median_days_to_competency",
        "retention_30d_rate",
        "seat_time_hours",
    ]
].copy()
for column in ("completion_rate", "mastery_rate", "retention_30d_rate"):
    table[column] = table[column].map(_percent)
st.dataframe(table, hide_index=True, width="stretch")
