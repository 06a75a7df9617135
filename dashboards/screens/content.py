"""Assessment items (marts.item_analysis): flagged items first, and one item's responses; then
each program's drop-off funnel (marts.program_funnel)."""

from __future__ import annotations

import altair as alt
import streamlit as st

from skillstream.dashboards import charts_insight, common, data, figures, labels, views
from skillstream.dashboards.suppression import Privacy

FLAGS = {
    "too_easy": "too easy",
    "too_hard": "too hard",
    "negative_discrimination": "discriminates negatively",
}


def show_items(build: figures.Published, privacy: Privacy) -> None:
    if figures.missing_tables(build, "item_analysis", "item_responses"):
        st.info(
            "This build has no marts.item_analysis: run `skillstream build` to see assessment "
            "items."
        )
        return
    st.caption(
        "Per assessment item over all time; the sidebar filters do not apply. Difficulty is the "
        "share of answers that are right; discrimination the point-biserial correlation with "
        "the rest of the assessment (docs/models.md)."
    )
    shown = views.items(build, privacy)
    common.note_hidden(shown, what="item")
    table = shown.table()
    if table.empty:
        st.info("No assessment item has enough learners to show.")
        return
    table["flag"] = table["flag"].map(lambda flag: FLAGS.get(flag, "") if flag else "")
    flagged = int((table["flag"] != "").sum())
    st.metric("Flagged items", flagged)
    named = common.subject_name(build)  # items and assessments by name, not by IRI
    shown_table, config = labels.readable(
        table.assign(
            item_id=table["item_id"].map(named), assessment_id=table["assessment_id"].map(named)
        )
    )
    st.dataframe(
        shown_table, hide_index=True, width="stretch", key="content_items", column_config=config
    )
    item = st.selectbox(
        "Responses to item", list(table["item_id"]), key="content_item", format_func=named
    )
    show_responses(build, item, privacy)


def show_responses(build: figures.Published, item: str, privacy: Privacy) -> None:
    responses = views.item_responses(build, item, privacy)
    common.note_hidden(responses, what="response")
    if responses.values.empty:
        st.info("No response to this item has enough learners to show.")
        return
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
    table, config = labels.readable(responses.table())
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)


build = common.published_or_stop("Content")
privacy = data.privacy()
show_items(build, privacy)
charts_insight.show_funnel(build, privacy)
