"""Assessment items (marts.item_analysis): flagged items first, and one item's responses."""

from __future__ import annotations

import altair as alt
import streamlit as st

from skillstream.dashboards import common, data, views

FLAGS = {
    "too_easy": "too easy",
    "too_hard": "too hard",
    "negative_discrimination": "discriminates negatively",
}

build = common.published_or_stop("Content")
common.require_marts(build, "item_analysis", "item_responses")
st.caption(
    "Per assessment item over all time; the sidebar filters do not apply. Difficulty is the "
    "share of answers that are right; discrimination the point-biserial correlation with the "
    "rest of the assessment (docs/models.md)."
)
privacy = data.privacy()
shown = views.items(build, privacy)
common.note_hidden(shown, what="item")
table = shown.table()
if table.empty:
    st.info("No assessment item has enough learners to show.")
    st.stop()

table["flag"] = table["flag"].map(lambda flag: FLAGS.get(flag, "") if flag else "")
flagged = int((table["flag"] != "").sum())
st.metric("Flagged items", flagged)
st.dataframe(table, hide_index=True, width="stretch", key="content_items")

item = st.selectbox("Responses to item", list(table["item_id"]), key="content_item")
responses = views.item_responses(build, item, privacy)
common.note_hidden(responses, what="response")
if responses.values.empty:
    st.info("No response to this item has enough learners to show.")
    st.stop()
chart = (
    alt.Chart(responses.values, title="Learners per response at their first attempt")
    .mark_bar()
    .encode(
        x=alt.X("response:N", title="Response"),
        y=alt.Y("learners:Q", title="Learners"),
        color=alt.Color("is_correct:N", title="Correct"),
        tooltip=["response", "description", "learners", "is_correct"],
    )
)
st.altair_chart(chart, width="stretch", key="content_responses")
st.dataframe(responses.table(), hide_index=True, width="stretch")
