"""The pilot's verdict, then the headline KPIs against their targets (capability and time to
competency first, then retention, then completion and ROI), with the trend by quarter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream.dashboards import common, data, figures, labels, suppression, verdicts, views

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


def _delta(column: str, scale: float = 1.0, suffix: str = "") -> str | None:
    if previous is None or pd.isna(previous[column]) or pd.isna(latest[column]):
        return None
    return f"{(latest[column] - previous[column]) * scale:+.1f}{suffix} vs {previous['quarter']}"


def _percent(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.0%}"


def _count(value: float | None) -> str:
    hidden = suppression.fewer_than(sides.programs.k)
    return hidden if value is None or pd.isna(value) else f"{int(value):,}"


def _status(on_target: bool | None, target: str) -> str:
    """A status colour against the target: green on target, orange below, grey unknown."""
    if on_target is None:
        return f":gray-badge[target {target}]"
    if on_target:
        return f":green-badge[:material/check: on target {target}]"
    return f":orange-badge[:material/warning: below target {target}]"


def _roi_row(cohort: str) -> pd.Series | None:
    if figures.missing_tables(build, "roi_quarterly"):
        return None
    published = figures.quarters(build)
    if not published:
        return None
    rows = views.roi(build, published[-1], privacy).values
    rows = rows[rows["cohort"] == cohort]
    return None if rows.empty else rows.iloc[0]


def pilot_verdicts() -> None:
    """Did the pilot work? Each cohort against the baseline, in the sidebar's selection (but
    every cohort): a yes or no, and each KPI against its target."""
    baseline = data.baseline_cohort()
    by_cohort = views.cohorts(
        build, figures.Filters({n: v for n, v in filters.chosen.items() if n != "cohort"}), privacy
    )
    programs = by_cohort.programs.values.set_index("cohort", drop=False)
    skills = by_cohort.skills.values.set_index("cohort", drop=False)
    pilots = [c for c in data.filter_options(build).get("cohort", []) if c != baseline]
    widen = ", ".join(n for n in filters.chosen if n != "cohort")
    for cohort in pilots:
        missing = [
            c for c in (cohort, baseline) if c not in programs.index or c not in skills.index
        ]
        if missing:
            st.info(
                f"No verdict for {cohort}: this selection has no {' or '.join(missing)} learners "
                f"in groups of {privacy.k} or more"
                + (f"; widen the {widen} filter." if widen else ".")
            )
            continue
        kpis = verdicts.pilot_kpis(
            (programs.loc[cohort], programs.loc[baseline]),
            (skills.loc[cohort], skills.loc[baseline]),
            _roi_row(cohort),
            settings,
        )
        headline = verdicts.pilot_headline(kpis)
        shown = st.success if headline.startswith("Yes") else st.warning
        shown(f"**Did the {cohort} cohort work, against {baseline}?** {headline}")
    if pilots:
        st.caption(
            "Yes when at least one KPI is better than the baseline beyond chance (its 95 % "
            "interval leaves out no difference) and none is worse; the cohort filter does not "
            "apply. [Pilot vs control](./cohorts) has the intervals per program and skill."
        )


def _roi_change(cohort: str, roi_pct: float, quarter: str) -> str | None:
    """The change of a cohort's ROI since the previous quarter with published ROI."""
    quarters = figures.quarters(build)
    earlier = quarters[: quarters.index(quarter)]
    if not earlier or pd.isna(roi_pct):
        return None
    rows = views.roi(build, earlier[-1], privacy).values
    before = rows.loc[rows["cohort"] == cohort, "roi_pct"]
    if before.empty or pd.isna(before.iloc[0]):
        return None
    return f"{roi_pct - float(before.iloc[0]):+.0f} points vs {earlier[-1]}"


def roi_cards(quarter: str, slots: Sequence[Any]) -> None:
    """The quarter's published ROI of each cohort but the baseline; no filter applies to it."""
    if figures.missing_tables(build, "roi_quarterly") or quarter not in figures.quarters(build):
        return
    roi_rows = views.roi(build, quarter, privacy).values
    roi_rows = roi_rows[roi_rows["cohort"] != data.baseline_cohort()]
    for slot, row in zip(slots, roi_rows.itertuples(), strict=False):
        slot.metric(
            f"ROI, {row.cohort}",
            "–" if pd.isna(row.roi_pct) else f"{row.roi_pct:.0f} %",
            _roi_change(str(row.cohort), row.roi_pct, quarter),
            help="marts.roi_quarterly, published assumptions; the sidebar filters do not apply",
        )
        slot.markdown(
            _status(
                None if pd.isna(row.roi_pct) else row.roi_pct >= settings.target_roi_pct,
                f"{settings.target_roi_pct:.0f} %",
            )
        )
        slot.caption(f"{int(row.learners)} learners")
    if not roi_rows.empty:
        common.provenance(build, "roi", "ROI (Phillips)")


if trend.empty:
    common.nothing_to_show(filters, sides.programs.k)
    published = [] if figures.missing_tables(build, "roi_quarterly") else figures.quarters(build)
    if published:
        st.subheader(f"ROI, quarter {published[-1]}")
        roi_cards(published[-1], st.columns(3))
    st.stop()

latest = trend.iloc[-1]
previous = trend.iloc[-2] if len(trend) > 1 else None
st.subheader(f"Quarter {latest['quarter']}")
pilot_verdicts()
columns = st.columns(3)
days = latest["median_days_to_competency"]
columns[0].metric(
    "Mastery rate",
    _percent(latest["mastery_rate"]),
    _delta("mastery_rate", 100, " pts"),
    help=f"Target {settings.target_mastery_rate:.0%}",
)
columns[0].markdown(
    _status(
        None
        if pd.isna(latest["mastery_rate"])
        else latest["mastery_rate"] >= settings.target_mastery_rate,
        f"{settings.target_mastery_rate:.0%}",
    )
)
columns[1].metric(
    "Median days to competency",
    "–" if pd.isna(days) else f"{days:.1f} days",
    _delta("median_days_to_competency", suffix=" days"),
    delta_color="inverse",
)
columns[1].markdown(
    _status(
        None if pd.isna(days) else days <= settings.target_median_days_to_competency,
        f"≤ {settings.target_median_days_to_competency:g} days",
    )
)
retention = latest["retention_30d_rate"]
columns[2].metric(
    "30-day retention",
    _percent(retention),
    _delta("retention_30d_rate", 100, " pts"),
)
columns[2].markdown(
    _status(
        None if pd.isna(retention) else retention >= settings.target_retention_30d_rate,
        f"{settings.target_retention_30d_rate:.0%}",
    )
)
columns[2].caption(f"checked {_count(latest['retention_checked'])}")
columns = st.columns(3)
completion = latest["completion_rate"]
columns[0].metric(
    "Completion rate",
    _percent(completion),
    _delta("completion_rate", 100, " pts"),
    help=f"Target {settings.target_completion_rate:.0%}",
)
columns[0].markdown(
    _status(
        None if pd.isna(completion) else completion >= settings.target_completion_rate,
        f"{settings.target_completion_rate:.0%}",
    )
)
columns[0].caption(f"enrolments {_count(latest['enrolments'])}")
common.provenance(build, "completion_rate", "completion, mastery, days to competency, retention")

roi_cards(str(latest["quarter"]), columns[1:])

st.subheader("Trend by quarter")
RATES = ["completion_rate", "mastery_rate", "retention_30d_rate"]
long = trend.melt(id_vars="quarter", value_vars=RATES, var_name="kpi", value_name="value").dropna()
long["kpi"] = long["kpi"].map(labels.label)
targets = pd.DataFrame(
    {
        "kpi": [labels.label(rate) for rate in RATES],
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
        tooltip=[
            alt.Tooltip("quarter:N", title="Quarter"),
            alt.Tooltip("kpi:N", title="KPI"),
            alt.Tooltip("value:Q", title="Value", format=".1%"),
        ],
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
# A KPI a row and a quarter a column: each KPI's label is read once, whole, on a narrow
# screen too, and a new quarter adds a short column rather than a long row.
figures_by_quarter = table.set_index("quarter").sort_index()
by_kpi = pd.DataFrame(
    {
        "KPI": [labels.label(str(c)) for c in figures_by_quarter.columns],
        **{
            str(quarter): [labels.show_column(str(c), row[c]) for c in figures_by_quarter.columns]
            for quarter, row in figures_by_quarter.iterrows()
        },
    }
)
st.dataframe(by_kpi, hide_index=True, width="stretch")
