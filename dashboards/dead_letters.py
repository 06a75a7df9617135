"""Dead letters on the Data quality page. They live on Kafka's dead-letter topic, not in
the warehouse, so the page reads the topic (briefly, cached) and counts the letters no
replay has sent yet by source and reason; `skillstream dlq` lists and replays them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream.dashboards import data
from skillstream.run import running_pid


@st.cache_data(ttl=10, show_spinner=False)
def dead_letters_by_reason() -> dict[str, Any]:
    """{"topic", "reasons": [{source, reason, letters, latest}]}, or {"error": why}."""
    from skillstream.ingestion import dlq

    return data.from_kafka(
        lambda settings: {
            "topic": settings.dlq_topic,
            "reasons": dlq.by_reason(dlq.read_letters(settings)),
        }
    )


def show_dead_letters() -> None:
    st.subheader("Dead letters")
    found = dead_letters_by_reason()
    if "error" in found:
        st.info(_unreadable(found["error"]))
        return
    if not found["reasons"]:
        st.success(f"No dead letter waits on {found['topic']}.")
        return
    reasons = pd.DataFrame(found["reasons"])
    st.caption(
        f"{int(reasons['letters'].sum())} event(s) on {found['topic']} did not become "
        "statements (a source could not read or map them, or the transform refused them). "
        "`skillstream dlq list` shows each; `skillstream dlq replay` sends them again once "
        "the cause is fixed."
    )
    st.dataframe(reasons, hide_index=True, width="stretch")


def _unreadable(error: str) -> str:
    """Why the letters are not listed, and whether that matters: with no live intake running,
    a stopped broker is the normal state of a machine that only reads the published build."""
    if running_pid(settings_module.load()) is None:
        return (
            "Dead letters are kept on Kafka, which is not running: no live intake "
            "(`skillstream run`) is running, so nothing new can be refused. Start it, or "
            "`skillstream up`, to list the letters kept from earlier runs."
        )
    return f"Dead letters cannot be read while the live intake runs: {error}."
