"""The quality gate: the last checkpoint, its Data Docs, recent builds, quarantine reasons,
dead letters."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream.dashboards import common, data, labels
from skillstream.dashboards.dead_letters import show_dead_letters
from skillstream.dashboards.suppression import Figure, suppress
from skillstream.quality.publish import read_status

st.title("Data quality")
settings = settings_module.load()
current, latest = read_status(settings)
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
finished = pd.Timestamp(latest["finished_at"]).strftime("%Y-%m-%d %H:%M")
st.caption(f"Build {latest['build_id']}, finished {finished} UTC")
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
        "screens/data_docs.py",
        label="Data Docs of this checkpoint: every expectation and its result",
        icon=":material/fact_check:",
    )
else:
    st.caption("This build wrote no Data Docs (the checkpoint did not run).")

SERVER_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[/\\][\w.@+-]+){2,}")


def readable_check(name: str) -> str:
    """not_null -> "not null"; expect_column_values_to_not_be_null -> "column values to not
    be null"; a description stays as it is."""
    if " " in name:
        return name
    return name.removeprefix("expect_").replace("_", " ")


def readable_observed(value: object) -> str:
    """An observed value as a short text, a server path reduced to its file name."""
    if labels.missing(value) or value == "":
        return labels.MISSING
    text = SERVER_PATH.sub(lambda m: m.group(0).replace("\\", "/").rsplit("/", 1)[-1], str(value))
    return text if len(text) <= 120 else text[:119] + "…"


CHECK_KINDS = {
    "dbt test": "dbt tests",
    "dbt unit test": "dbt unit tests",
    "Great Expectations": "expectations",
}


def checks_that_ran(build: dict[str, object]) -> None:
    """The published build's dbt tests and expectations, failed first."""
    checks = pd.DataFrame(build.get("checks") or [])
    if checks.empty:
        st.caption(
            "The published build recorded no list of its checks; the next `skillstream build` "
            "records one."
        )
        return
    failed = int((~checks["passed"].astype(bool)).sum())
    kinds = ", ".join(
        f"{n} {CHECK_KINDS.get(str(source), source)}"
        for source, n in checks["source"].value_counts().items()
    )
    st.markdown(
        f"**{len(checks)} checks ran on build {build['build_id']}** ({kinds}): "
        + ("all passed." if not failed else f"**{failed} failed.**")
    )
    table = pd.DataFrame(
        {
            "Result": checks["passed"].map({True: "passed", False: "failed"}),
            "Ran by": checks["source"],
            "Table": checks["table"].map(readable_observed),
            # the gate checks raw.statements' rows landed since the published build only
            "Rows checked": checks.get("covered", pd.Series(index=checks.index)).map(
                readable_observed
            ),
            "Column": checks["column"].map(readable_observed),
            "Check": checks["check"].map(lambda c: readable_check(str(c))),
            "Observed": checks["observed"].map(readable_observed),
        }
    ).sort_values(["Result", "Ran by", "Table"], kind="stable")
    config = {
        "Result": st.column_config.TextColumn("Result", width="small"),
        **{
            n: st.column_config.TextColumn(n, width="medium") for n in ("Ran by", "Table", "Column")
        },
    }
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)


if current:
    st.subheader("Checks that ran")
    checks_that_ran(current)

facts = data.warehouse_facts()
if "busy" in facts:
    st.warning(f"Recent builds and quarantine cannot be read right now: {facts['busy']}.")
    st.stop()


def completeness() -> None:
    """Is the data all there: roster learners seen, date range against the pilots' windows,
    volume per week. Groups of fewer than k learners are hidden like everywhere else."""
    k = data.privacy().k
    if facts["roster_coverage"].empty:
        st.info("No roster imported, so no learners are expected: `skillstream roster import`.")
    else:
        roster_coverage(k)
    statement_dates(k)


def roster_coverage(k: int) -> None:
    # no total is shown, so each team × cohort stands alone (no complement to protect)
    coverage = suppress(
        facts["roster_coverage"], (Figure("seen", ("learners",)),), k, siblings=("team", "cohort")
    )
    common.note_hidden(coverage, what="team × cohort group")
    table = coverage.table()
    table["seen_share"] = [
        f"{seen / learners:.0%}" if pd.notna(seen) and learners else "—"
        for seen, learners in zip(coverage.values["seen"], coverage.values["learners"], strict=True)
    ]
    st.markdown("**Roster learners seen in statements**, by team and cohort")
    st.dataframe(
        table.rename(columns={"learners": "on the roster", "seen_share": "share seen"}),
        hide_index=True,
        width="stretch",
    )


def statement_dates(k: int) -> None:
    dates = facts["statement_dates"].iloc[0]
    if pd.isna(dates["first"]):
        st.markdown("**No statements have landed yet.**")
        return
    first, last = pd.Timestamp(dates["first"]).date(), pd.Timestamp(dates["last"]).date()
    st.markdown(f"**Statements dated** {first} to {last}.")
    for pilot in settings.pilots:
        end = pilot.start + timedelta(days=pilot.window_days)
        covered = first <= pilot.start and last >= end
        st.markdown(
            f"- Pilot {pilot.name or pilot.cohort}: window {pilot.start} to {end} — "
            + ("covered by the data." if covered else "**not fully covered by the data.**")
        )
    weekly = suppress(
        facts["weekly_statements"], (Figure("statements", ("learners",)),), k, siblings=("week",)
    )
    common.note_hidden(weekly, what="week")
    chart = common.statements_bars(weekly.values, "week", "Statements per week")
    st.altair_chart(chart, width="stretch", key="weekly_statements")


if "roster_coverage" in facts:
    st.subheader("Completeness")
    completeness()

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
