"""The skillstream dashboard. Run with `skillstream dashboard`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="skillstream", page_icon=":material/school:", layout="wide")
navigation = st.navigation(
    {
        "Outcomes": [
            st.Page(
                PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True
            ),
            st.Page(PAGES / "cohorts.py", title="Cohorts", icon=":material/compare:"),
            st.Page(PAGES / "capability.py", title="Capability", icon=":material/grid_on:"),
            st.Page(PAGES / "engagement.py", title="Engagement", icon=":material/timeline:"),
            st.Page(PAGES / "content.py", title="Content", icon=":material/quiz:"),
            st.Page(PAGES / "roi.py", title="ROI", icon=":material/payments:"),
            st.Page(PAGES / "pilot.py", title="Pilot", icon=":material/science:"),
        ],
        "Operations": [
            st.Page(PAGES / "quality.py", title="Data quality", icon=":material/verified:"),
            st.Page(PAGES / "health.py", title="Pipeline health", icon=":material/monitor_heart:"),
            st.Page(
                PAGES / "definitions.py", title="Metric definitions", icon=":material/menu_book:"
            ),
        ],
    }
)
navigation.run()
