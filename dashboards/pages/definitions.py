"""The exact meaning of every number on the dashboard (docs/design.md §4), linked from each
chart."""

from __future__ import annotations

import streamlit as st

from skillstream.dashboards.definitions import METRICS, PREAMBLE

st.title("Metric definitions")
st.caption("Quoted from docs/design.md §4, the contract every part of skillstream builds against.")
st.markdown(PREAMBLE)
for anchor, metric, definition in METRICS:
    st.subheader(metric, anchor=anchor)
    st.markdown(definition)
