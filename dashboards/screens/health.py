"""Pipeline health: consumer lag per partition, throughput, dead letters, freshness."""

from __future__ import annotations

from datetime import UTC, datetime

import altair as alt
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream.dashboards import common, data, labels
from skillstream.run import running_pid, stages


@st.cache_data(ttl=10, show_spinner=False)
def stage_freshness() -> list[dict[str, object]]:
    """Each stage: when it last moved, and the newest statement it holds (UTC)."""
    return stages(settings_module.load())


def show_table(frame: pd.DataFrame) -> None:
    table, config = labels.readable(frame)
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)


st.title("Pipeline health")
settings = settings_module.load()
facts = data.warehouse_facts()
if "busy" in facts:
    st.warning(f"The warehouse cannot be read right now: {facts['busy']}.")
    st.stop()
st.caption(f"Read live from the warehouse and the broker at {settings.bootstrap}.")

st.subheader("Freshness")
freshness = facts.get("freshness")
columns = st.columns(3)
if freshness is not None and int(freshness["statements"].iloc[0]):
    row = freshness.iloc[0]
    now = datetime.now(UTC).replace(tzinfo=None)
    age = now - pd.Timestamp(row["last_landed_at"]).to_pydatetime()
    columns[0].metric("Statements landed", f"{int(row['statements']):,}")
    columns[1].metric("Last landed", f"{age.total_seconds() / 60:,.0f} min ago")
    columns[2].metric("Newest statement", str(row["last_occurred_at"])[:19])
else:
    columns[0].metric("Statements landed", "0")
build = data.published_build()
if build is not None:
    st.caption(f"Newest published build {build.build_id}, built {build.built_at} UTC.")
show_table(pd.DataFrame(stage_freshness()))

st.subheader("Consumer lag per partition")
offsets = facts.get("offsets", pd.DataFrame(columns=["topic", "kafka_partition", "next_offset"]))
kafka = data.kafka_end_offsets()
if "error" in kafka and running_pid(settings) is None:
    st.info(
        "Kafka is not running, and that is fine: no live intake (`skillstream run`) is "
        "running, so nothing is waiting to land. The other pages show the published build. "
        "Showing the landed offsets."
    )
    show_table(offsets)
elif "error" in kafka:
    st.warning(
        f"Kafka cannot be reached ({kafka['error']}) while the live intake runs: statements "
        "sent now are refused until it is back, and the lag cannot be measured. Showing the "
        "landed offsets only."
    )
    show_table(offsets)
else:
    lag = data.consumer_lag(offsets, kafka["partitions"], kafka["topic"])
    st.metric("Total lag", f"{int(lag['lag'].fillna(0).sum()):,} statement(s)")
    chart = (
        alt.Chart(lag, title=f"Lag of the transform on {kafka['topic']}")
        .mark_bar()
        .encode(
            x=alt.X("partition:O", title="Partition"),
            y=alt.Y(
                "lag:Q",
                title="Statements not yet landed",
                axis=alt.Axis(format=",d", tickMinStep=1),
            ),
            tooltip=["partition", "end_offset", "landed_next_offset", "lag"],
        )
    )
    st.altair_chart(chart, width="stretch", key="consumer_lag")
    show_table(lag)

st.subheader("Throughput")
per_hour = facts.get("landed_per_hour")
if per_hour is None or per_hour.empty:
    st.info(
        "Nothing has landed yet: start the live pipeline with `skillstream run`, or produce "
        "statements with `skillstream ingest` and land them with `skillstream transform`."
    )
else:
    chart = common.statements_bars(per_hour, "hour", "Statements landed per hour")
    st.altair_chart(chart, width="stretch", key="throughput")

st.subheader("Dead letters")
by_topic = facts.get("quarantine_by_topic")
dead = 0 if by_topic is None else int(by_topic["events"].sum())
st.metric("Quarantined events (raw.quarantine, also on the DLQ topic)", f"{dead:,}")
if dead:
    st.page_link("screens/quality.py", label="Reasons on the Data quality page")
