"""The quality gate: the last checkpoint, its Data Docs, recent builds, quarantine reasons,
dead letters."""

from __future__ import annotations

import json

import altair as alt
import streamlit as st

from skillstream import settings as settings_module
from skillstream.dashboards import data, labels
from skillstream.dashboards.dead_letters import show_dead_letters
from skillstream.quality.publish import read_status

st.title("Data quality")
current, latest = read_status(settings_module.load())
if latest is None:
    st.info("No build has run yet. Run `skillstream build` after landing statements.")
    st.stop()

st.subheader("Last checkpoint")
state = "passed" if latest.get("is_published") else "held back"
columns = st.columns(3)
columns[0].metric("Newest build", state)
columns[1].metric("dbt", "passed" if latest.get("dbt_success") else "failed")
gate = latest.get("gate_success")
columns[2].metric(
    "Great Expectations", "not run" if gate is None else ("passed" if gate else "failed")
)
st.caption(f"Build {latest['build_id']}, finished {latest['finished_at']} UTC")
if latest.get("failures"):
    st.error(
        f"{len(latest['failures'])} check(s) failed; the dashboard shows the last published build."
    )
    st.dataframe(latest["failures"], hide_index=True, width="stretch")
elif current and current["build_id"] == latest["build_id"]:
    st.success("Every dbt test and expectation passed; this build is the one the dashboard shows.")
docs = latest.get("data_docs") or (current or {}).get("data_docs")
if docs:
    st.page_link(
        "pages/data_docs.py",
        label="Data Docs of this checkpoint: every expectation and its result",
        icon=":material/fact_check:",
    )
else:
    st.caption("This build wrote no Data Docs (the checkpoint did not run).")

facts = data.warehouse_facts()
if "busy" in facts:
    st.warning(f"Recent builds and quarantine cannot be read right now: {facts['busy']}.")
    st.stop()

st.subheader("Recent builds")
if "runs" in facts:
    runs = facts["runs"].copy()
    runs["failed_checks"] = runs["failures"].map(lambda f: len(json.loads(f or "[]")))
    table, config = labels.readable(runs.drop(columns="failures"))
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)

st.subheader("Quarantine")
reasons = facts.get("quarantine_reasons")
if reasons is None or reasons.empty:
    st.success("Nothing is in quarantine.")
else:
    st.caption(
        f"{int(facts['quarantine_by_topic']['events'].sum())} event(s) kept whole in "
        "raw.quarantine, with these reasons (an event can have several)."
    )
    chart = (
        alt.Chart(reasons, title="Quarantined events by reason")
        .mark_bar()
        .encode(
            x=alt.X("events:Q", title="Events"),
            y=alt.Y("reason:N", title=None, sort="-x"),
            tooltip=["reason", "events", "latest"],
        )
    )
    st.altair_chart(chart, width="stretch", key="quarantine_reasons")
    st.caption("Read live from raw.quarantine.")
    table, config = labels.readable(reasons)
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)

show_dead_letters()
