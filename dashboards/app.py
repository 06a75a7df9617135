"""The skillstream dashboard. Run with `skillstream dashboard`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from skillstream.dashboards import data

# Not `pages/`: Streamlit treats a folder of that name beside the script as its own page list,
# and a link straight to a page, opened first after a start, would show that list instead.
PAGES = Path(__file__).parent / "screens"

# "auto": Streamlit collapses the sidebar below its own breakpoint (768 px); NARROW_SCREEN
# below collapses it up to 800 px as well
st.set_page_config(
    page_title="skillstream",
    page_icon=":material/school:",
    layout="wide",
    initial_sidebar_state="auto",
)
# a KPI label wraps rather than ends in "…" where its card is narrow
st.html(
    "<style>[data-testid='stMetricLabel'], [data-testid='stMetricLabel'] * "
    "{white-space: normal !important; overflow: visible !important; "
    "text-overflow: clip !important;}</style>"
)
# A screen this narrow reads better with the sidebar closed; its toggle opens it. A reader's
# own choice (Streamlit keeps it in localStorage) wins, and the collapse done here is not
# recorded as one. Once per page load: later reruns must not close a sidebar the reader opened.
NARROW_SCREEN = 800
st.html(
    f"""<script>
(() => {{
  if (window.skillstreamNarrowChecked || window.innerWidth > {NARROW_SCREEN}) return;
  window.skillstreamNarrowChecked = true;
  const chosen = () => Object.keys(localStorage).filter(k => k.startsWith("stSidebarCollapsed-"));
  if (chosen().length) return;
  const started = Date.now();
  const collapse = () => {{
    const button = document.querySelector(
      '[data-testid="stSidebar"][data-collapsed="false"] button[aria-label="Collapse sidebar"]');
    if (button) {{
      button.click();
      chosen().forEach(k => localStorage.removeItem(k));
    }} else if (Date.now() - started < 10000) {{
      setTimeout(collapse, 100);
    }}
  }};
  collapse();
}})();
</script>""",
    unsafe_allow_javascript=True,
)
navigation = st.navigation(
    {
        "Outcomes": [
            st.Page(
                PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True
            ),
            st.Page(
                PAGES / "cohorts.py",
                title=f"Pilot vs {data.baseline_cohort()}",
                icon=":material/compare:",
            ),
            st.Page(PAGES / "capability.py", title="Capability", icon=":material/grid_on:"),
            st.Page(PAGES / "engagement.py", title="Engagement", icon=":material/timeline:"),
            st.Page(PAGES / "content.py", title="Content", icon=":material/quiz:"),
            st.Page(PAGES / "at_risk.py", title="At risk", icon=":material/warning:"),
            st.Page(PAGES / "roi.py", title="ROI", icon=":material/payments:"),
            st.Page(PAGES / "pilot.py", title="Pilot", icon=":material/science:"),
        ],
        "Operations": [
            st.Page(PAGES / "quality.py", title="Data quality", icon=":material/verified:"),
            st.Page(
                PAGES / "data_docs.py",
                title="Data Docs",
                url_path="data-docs",
                icon=":material/fact_check:",
            ),
            st.Page(PAGES / "health.py", title="Pipeline health", icon=":material/monitor_heart:"),
            st.Page(
                PAGES / "definitions.py", title="Metric definitions", icon=":material/menu_book:"
            ),
        ],
    }
)
navigation.run()
