"""Each cohort against the baseline cohort: rates with 95 % intervals, n, and a verdict."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream import stats
from skillstream.dashboards import common, data, verdicts

build = common.published_or_stop("Cohorts")
common.require_marts(build, "learner_programs", "learner_skills")
filters = common.sidebar_filters(build)
baseline = data.baseline_cohort()
settings = settings_module.load()
k = data.k_anonymity()

completion = common.hide_small_groups(
    data.completion_counts_by_cohort(build, filters), "learners", "cohort"
)
mastery = common.hide_small_groups(
    data.mastery_counts_by_cohort(build, filters), "learners", "cohort"
)
if completion.empty and mastery.empty:
    st.info("No group is large enough to show.")
    st.stop()


def _rates(frame: pd.DataFrame, successes: str, n: str, metric: str) -> pd.DataFrame:
    rows = []
    for row in frame[frame[n] > 0].itertuples():
        interval = stats.wilson_interval(int(getattr(row, successes)), int(getattr(row, n)))
        low, high = interval.low, interval.high
        rows.append(
            {
                "cohort": row.cohort,
                "metric": metric,
                "rate": getattr(row, successes) / getattr(row, n) if getattr(row, n) else None,
                "ci_low": low,
                "ci_high": high,
                "n": int(getattr(row, n)),
            }
        )
    return pd.DataFrame(rows)


def _verdicts(frame: pd.DataFrame, successes: str, n: str, verb: str, unit: str) -> list[str]:
    base = frame[frame["cohort"] == baseline]
    if base.empty or int(base.iloc[0][n]) == 0:
        return []
    b = base.iloc[0]
    sentences = []
    for row in frame[(frame["cohort"] != baseline) & (frame[n] > 0)].itertuples():
        interval = stats.newcombe_difference(
            int(getattr(row, successes)), int(getattr(row, n)), int(b[successes]), int(b[n])
        )
        sentences.append(
            verdicts.completion_verdict(
                row.cohort, baseline, interval.estimate, interval.low, interval.high, verb
            )
            + f" — n = {int(getattr(row, n))} vs {int(b[n])} {unit}."
        )
    return sentences


rates = pd.concat(
    [
        _rates(completion, "completed", "n", "completion rate"),
        _rates(mastery, "mastered", "n", "mastery rate"),
    ],
    ignore_index=True,
)
if baseline not in set(rates["cohort"]):
    st.warning(f"The baseline cohort '{baseline}' is not in this selection: no comparison.")

st.subheader("Verdict")
sentences = [
    *_verdicts(completion, "completed", "n", "completes", "enrolments"),
    *_verdicts(mastery, "mastered", "n", "masters", "learner × skill pairs"),
    *_verdicts(
        mastery[mastery["retention_checked"] >= k],
        "retained",
        "retention_checked",
        "retains after 30 days",
        "checked learner × skill pairs",
    ),
]
for sentence in sentences:
    st.markdown(f"- {sentence}")
common.provenance(build, "cohort_comparison")

st.subheader("Rates with 95 % intervals")
base = alt.Chart(rates).encode(
    y=alt.Y("cohort:N", title=None),
    color=alt.Color("cohort:N", legend=None),
)
bars = base.mark_point(filled=True, size=90).encode(
    x=alt.X("rate:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
    tooltip=[
        "cohort",
        "metric",
        "n",
        alt.Tooltip("rate:Q", format=".1%"),
        alt.Tooltip("ci_low:Q", format=".1%"),
        alt.Tooltip("ci_high:Q", format=".1%"),
    ],
)
whiskers = base.mark_rule().encode(x="ci_low:Q", x2="ci_high:Q")
st.altair_chart(
    (whiskers + bars).properties(height=80).facet(row=alt.Row("metric:N", title=None)),
    width="stretch",
    key="cohort_rates",
)
common.provenance(build, "completion_rate", "completion and mastery")

table = rates.assign(
    rate=rates["rate"].map(lambda v: f"{v:.1%}"),
    interval=[
        f"{lo:.1%}–{hi:.1%}" for lo, hi in zip(rates["ci_low"], rates["ci_high"], strict=True)
    ],
).drop(columns=["ci_low", "ci_high"])
st.table(table.set_index(["metric", "cohort"]))

st.subheader("Days to competency")
days = mastery[mastery["days_to_competency"].map(lambda v: v is not None and len(v) >= k)]
base_days = days[days["cohort"] == baseline]
for row in days[days["cohort"] != baseline].itertuples():
    if base_days.empty:
        break
    days_interval = stats.bootstrap_median_difference(
        row.days_to_competency,
        base_days.iloc[0]["days_to_competency"],
        seed=stats.subject_seed(settings.comparison_seed, row.cohort, "days_to_competency"),
        resamples=settings.comparison_resamples,
    )
    difference, low, high = days_interval.estimate, days_interval.low, days_interval.high
    st.markdown(
        f"- {row.cohort} reaches competency {abs(difference):.1f} days "
        f"{'sooner' if difference < 0 else 'later'} than {baseline} at the median "
        f"(95 % bootstrap CI {low:+.1f} to {high:+.1f} days) — "
        f"n = {len(row.days_to_competency)} vs {len(base_days.iloc[0]['days_to_competency'])}."
    )
st.dataframe(
    mastery[["cohort", "learners", "median_days_to_competency", "retention_checked", "retained"]],
    hide_index=True,
    width="stretch",
)
common.provenance(build, "days_to_competency")

if not data.missing_tables(build, "cohort_comparison"):
    with st.expander("Published comparison, all time (marts.cohort_comparison)"):
        published = data.cohort_comparison(build)
        published = published[(published["n"] >= k) & (published["baseline_n"] >= k)]
        st.dataframe(published, hide_index=True, width="stretch")
