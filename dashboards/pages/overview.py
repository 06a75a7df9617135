"""Headline KPIs against their targets, with the trend by quarter."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream.dashboards import common, data, figures, suppression, views

build = common.published_or_stop("Overview")
common.require_marts(build, "learner_programs", "learner_skills")
filters = common.sidebar_filters(build)
settings = settings_module.load()
privacy = data.privacy()

sides = views.overview(build, filters, privacy)
common.note_hidden(sides.programs, sides.skills, what="quarter")
trend = sides.programs.values.merge(
    sides.skills.values, on="quarter", how="outer", suffixes=("", "_skills")
)
trend = trend.sort_values("quarter").reset_index(drop=True)
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


def _count(value: float | None) -> str:
    hidden = suppression.fewer_than(sides.programs.k)
    return hidden if value is None or pd.isna(value) else f"{int(value):,}"


columns = st.columns(4)
columns[0].metric(
    "Completion rate",
    _percent(latest["completion_rate"]),
    _delta("completion_rate", 100, " pts"),
    help=f"Target {settings.target_completion_rate:.0%}",
)
columns[0].caption(
    f"target {settings.target_completion_rate:.0%} · enrolments {_count(latest['enrolments'])}"
)
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
    _percent(retention),
    _delta("retention_30d_rate", 100, " pts"),
)
columns[3].caption(
    f"target {settings.target_retention_30d_rate:.0%} · "
    f"checked {_count(latest['retention_checked'])}"
)
common.provenance(build, "completion_rate", "completion, mastery, days to competency, retention")

if not figures.missing_tables(build, "roi_quarterly") and latest["quarter"] in figures.quarters(
    build
):
    roi_rows = views.roi(build, str(latest["quarter"]), privacy).values
    roi_rows = roi_rows[roi_rows["cohort"] != data.baseline_cohort()]
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

program_table = sides.programs.table()
skill_table = sides.skills.table()
table = program_table[
    ["quarter", "learners", "enrolments", "completion_rate", "seat_time_hours"]
].merge(
    skill_table[["quarter", "mastery_rate", "median_days_to_competency", "retention_30d_rate"]],
    on="quarter",
    how="outer",
)
for column in ("completion_rate", "mastery_rate", "retention_30d_rate"):
    table[column] = table[column].map(lambda v: v if isinstance(v, str) else _percent(v))
st.dataframe(table.astype(str), hide_index=True, width="stretch")
