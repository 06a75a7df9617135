"""The skillstream dashboard. Run with `skillstream dashboard`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="skillstream", page_icon=":material/school:", layout="wide")
navigation = st.navigation(
    [st.Page(PAGES / "completion.py", title="Completion", icon=":material/task_alt:", default=True)]
)
navigation.run()
