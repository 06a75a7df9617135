"""skillstream: xAPI learning events -> Kafka -> Beam -> DuckDB -> dbt -> Great Expectations ->
Streamlit dashboards and ROI reports."""

__version__ = "0.1.0"
