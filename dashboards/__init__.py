"""Dashboards: the Streamlit app L&D leaders read."""
