"""The exact meaning of every number on the dashboard (docs/design.md §4), linked from each
chart."""

from __future__ import annotations

import streamlit as st

from skillstream import settings as settings_module
from skillstream.dashboards.definitions import METRICS, preamble

st.title("Metric definitions")
st.caption("Quoted from docs/design.md §4, the contract every part of skillstream builds against.")
st.markdown(preamble(settings_module.load()))
for anchor, metric, definition in METRICS:
    st.subheader(metric, anchor=anchor)
    st.markdown(definition)
