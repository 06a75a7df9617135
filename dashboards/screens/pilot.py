"""Pilot: plan a pilot, read the configured pilots out, project one to the organisation
(skillstream/pilot.py holds the statistics and the rules; this page lays them out)."""

from __future__ import annotations

import streamlit as st

from skillstream import pilot
from skillstream import settings as settings_module
from skillstream.dashboards import common, data, figures, labels, projection

build = common.published_or_stop("Pilot")
common.require_marts(build, "learner_programs", "learner_skills")
settings = settings_module.load()
privacy = data.privacy()

st.subheader("Plan a pilot")
left, right = st.columns(2)
metric = left.selectbox("Metric", list(pilot.METRICS), key="plan_metric")
chosen = pilot.METRICS[metric]
names = figures.subject_names(build)
subjects = data.filter_options(build)["program" if chosen.subject == "program_id" else "skill"]
subject = left.selectbox(
    "Program" if chosen.subject == "program_id" else "Skill",
    ["all", *subjects],
    key="plan_subject",
    format_func=lambda iri: iri if iri == "all" else labels.subject_name(iri, names),
)
lift = right.number_input(
    "Lift to detect: change of the rate (0.2 = +20 points)"
    if chosen.is_rate
    else "Lift to detect: relative change of median days (-0.4 = 40 % fewer)",
    value=0.2 if chosen.is_rate else -0.4,
    min_value=-0.95,
    max_value=0.95,
    step=0.05,
    key=f"plan_lift_{metric}",
)
power = right.number_input("Power", value=0.8, min_value=0.5, max_value=0.99, key="plan_power")
alpha = right.number_input("α (two-sided)", value=0.05, min_value=0.001, max_value=0.2)
team_size = left.number_input("Team size per arm (0: none)", value=0, min_value=0, step=5)
own_rate = (
    left.number_input(
        "Baseline rate (0: the warehouse's)",
        value=0.0,
        min_value=0.0,
        max_value=0.99,
        key="plan_rate",
    )
    if chosen.is_rate
    else 0.0
)
everyone = "all learners"
baseline_group = left.selectbox(
    "Baseline", [settings.baseline_cohort, everyone], key="plan_baseline_cohort"
)
quarters = right.number_input("Last N quarters (0: all)", value=0, min_value=0, key="plan_quarters")
st.caption(
    "Baseline: the chosen group's outcome within 30 days of each learner's first statement, in "
    "the published build, unless a rate is given."
)
try:
    baseline = own_rate or pilot.baseline_of(
        build,
        metric,
        "" if baseline_group == everyone else baseline_group,
        "" if subject == "all" else subject,
        30,
        privacy.k,
        quarters,
    )
    planned = pilot.plan(
        metric, lift, baseline, power, alpha, team_size or None, settings.comparison_seed
    )
except pilot.PilotError as error:
    st.warning(str(error))
else:
    needed = "more than 20,000" if planned.per_arm is None else f"{planned.per_arm:,}"
    st.metric("Learners per arm", needed)
    st.markdown(
        f"To show **{pilot.lift_text(metric, lift)}** from a baseline of "
        f"**{labels.show(planned.baseline, 'rate' if chosen.is_rate else 'days')}**"
        + ("" if chosen.is_rate else " days")
        + f" with {power:.0%} power at α = {alpha} (two-sided)."
    )
    if team_size:
        st.markdown(
            f"With **{team_size}** per arm the smallest detectable lift is "
            f"**{pilot.lift_text(metric, planned.detectable_lift)}**."
        )
    st.caption(f"Method: {planned.method}")

st.subheader("KPI effects")
st.caption(
    "Per KPI, quarter and cohort: the change of each learner's KPI from the window before their "
    "program start to the window after, against the baseline cohort's change (difference in "
    "differences, 95 % bootstrap interval by learner; marts.kpi_effects)."
)
if figures.missing_tables(build, "kpi_effects"):
    st.info("The published build has no marts.kpi_effects; run `skillstream build`.")
else:
    effects = pilot.kpi_effects(build, privacy.k)
    common.note_hidden(effects, what="cohort")
    table, config = labels.readable(effects.table())
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)

st.subheader("Read out")
st.markdown("Verdict rules:\n" + "\n".join(f"- {rule}" for rule in pilot.VERDICT_RULES))
if not settings.pilots:
    st.info("No pilots configured: add `[[pilots]]` tables to skillstream.toml (docs/pilot.md).")
    st.stop()
results = [pilot.readout(build, p, privacy, settings.comparison_seed) for p in settings.pilots]
for result in results:
    if result.shown:
        st.markdown(f"**{result.verdict.upper()}** · {pilot.readout_text(result)}")
    else:
        st.info(pilot.readout_text(result))

projection.section(build, settings, privacy, results)
