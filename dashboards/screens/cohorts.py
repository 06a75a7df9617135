"""Each cohort against the baseline cohort: per-cohort figures, and per program and skill the
rates with 95 % intervals, n and a verdict."""

from __future__ import annotations

from collections.abc import Iterator

import altair as alt
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream import stats
from skillstream.dashboards import common, data, figures, labels, verdicts, views

build = common.published_or_stop(f"Pilot vs {data.baseline_cohort()}")
common.require_marts(build, "learner_programs", "learner_skills")
filters = common.sidebar_filters(build)
baseline = data.baseline_cohort()
settings = settings_module.load()
privacy = data.privacy()

summary = views.cohorts(build, filters, privacy)
by_subject = views.cohorts_by_subject(build, filters, privacy)
common.note_hidden(summary.programs, summary.skills, by_subject.programs, by_subject.skills)
if summary.programs.values.empty and summary.skills.values.empty:
    st.info("No group is large enough to show.")
    st.stop()

st.subheader("Per cohort")
per_cohort = summary.programs.table()[
    ["cohort", "learners", "enrolments", "completed", "completion_rate"]
].merge(
    summary.skills.table()[
        ["cohort", "mastery_rate", "median_days_to_competency", "retention_30d_rate"]
    ],
    on="cohort",
    how="outer",
    suffixes=("", "_skills"),
)
per_cohort, per_cohort_config = labels.readable(per_cohort)
st.dataframe(
    per_cohort,
    hide_index=True,
    width="stretch",
    column_config=per_cohort_config,
    key="cohort_summary",
)
common.provenance(build, "completion_rate", "completion, mastery, days to competency, retention")
st.caption(
    "Intervals and verdicts below are computed per program and per skill, in which each learner "
    "counts once, so the units compared are independent (as in marts.cohort_comparison)."
)

# (metric, side, successes, n, verb)
RATES = (
    ("completion rate", "programs", "completed", "enrolments", "completes"),
    ("mastery rate", "skills", "mastered", "learners", "masters"),
    ("30-day retention", "skills", "retained", "retention_checked", "retains after 30 days"),
)


def _subject_rows(frame: pd.DataFrame, successes: str, n: str) -> Iterator[tuple]:
    """(subject, cohort, successes, n) of the rows where both counts are shown."""
    subject = "program_id" if "program_id" in frame.columns else "skill_id"
    shown = frame.dropna(subset=[successes, n])
    for row in shown.itertuples():
        yield getattr(row, subject), row.cohort, int(getattr(row, successes)), int(getattr(row, n))


names = figures.subject_names(build)


def _short(subject: str) -> str:
    return labels.subject_name(subject, names)


rates, sentences = [], []
for metric, side, successes, n, verb in RATES:
    rows = list(_subject_rows(getattr(by_subject, side).values, successes, n))
    bases = {subject: (s, m) for subject, cohort, s, m in rows if cohort == baseline}
    for subject, cohort, s, m in rows:
        interval = stats.wilson_interval(s, m)
        rates.append(
            {
                "metric": metric,
                "subject": _short(subject),
                "cohort": cohort,
                "rate": s / m,
                "ci_low": interval.low,
                "ci_high": interval.high,
                "n": m,
            }
        )
        if cohort != baseline and subject in bases:
            b_s, b_m = bases[subject]
            difference = stats.newcombe_difference(s, m, b_s, b_m)
            sentences.append(
                f"On {_short(subject)}, "
                + verdicts.completion_verdict(
                    cohort, baseline, difference.estimate, difference.low, difference.high, verb
                )
                + f" — n = {m} vs {b_m} learners."
            )

st.subheader("Verdict")
if not sentences:
    st.warning(f"The baseline cohort '{baseline}' is not in this selection: no comparison.")
for sentence in sentences:
    st.markdown(f"- {sentence}")
common.provenance(build, "cohort_comparison")

if rates:
    st.subheader("Rates with 95 % intervals")
    frame = pd.DataFrame(rates)
    base = alt.Chart(frame).encode(
        y=alt.Y("cohort:N", title=None), color=common.cohort_colour(build, title=None)
    )
    points = base.mark_point(filled=True, size=90).encode(
        x=alt.X("rate:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        tooltip=[
            "metric",
            "subject",
            "cohort",
            "n",
            alt.Tooltip("rate:Q", format=".1%"),
            alt.Tooltip("ci_low:Q", format=".1%"),
            alt.Tooltip("ci_high:Q", format=".1%"),
        ],
    )
    whiskers = base.mark_rule().encode(x="ci_low:Q", x2="ci_high:Q")
    st.altair_chart(
        (whiskers + points)
        .properties(height=80)
        .facet(row=alt.Row("metric:N", title=None), column=alt.Column("subject:N", title=None)),
        width="stretch",
        key="cohort_rates",
    )
    common.provenance(build, "completion_rate", "completion and mastery")
    table = frame.assign(
        rate=frame["rate"].map(lambda v: f"{v:.1%}"),
        interval=[
            f"{lo:.1%}–{hi:.1%}" for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)
        ],
    ).drop(columns=["ci_low", "ci_high"])
    st.table(table.set_index(["metric", "subject", "cohort"]))

st.subheader("Days to competency")
days = by_subject.skills.values.dropna(subset=["days_to_competency"])
for skill_id, group in days.groupby("skill_id"):
    base_days = group[group["cohort"] == baseline]
    for row in group[group["cohort"] != baseline].itertuples():
        if base_days.empty:
            break
        baseline_days = base_days.iloc[0]["days_to_competency"]
        days_interval = stats.bootstrap_median_difference(
            row.days_to_competency,
            baseline_days,
            seed=stats.subject_seed(settings.comparison_seed, row.cohort, str(skill_id)),
            resamples=settings.comparison_resamples,
        )
        shift = verdicts.days_sooner(
            days_interval.estimate, days_interval.low, days_interval.high
        ).replace("(95 % CI", f"than {baseline} at the median (95 % bootstrap CI", 1)
        st.markdown(
            f"- On {_short(str(skill_id))}, {row.cohort} reaches competency {shift} — "
            f"n = {len(row.days_to_competency)} vs {len(baseline_days)} learners."
        )
common.provenance(build, "days_to_competency")

if not figures.missing_tables(build, "cohort_comparison"):
    with st.expander("Published comparison, all time (marts.cohort_comparison)"):
        published = views.comparison(build, privacy)
        table, config = labels.readable(published.table())
        st.dataframe(table, hide_index=True, width="stretch", column_config=config)
