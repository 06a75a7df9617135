"""Ingestion: sources that produce xAPI statements to Kafka, and the HR / KPI imports."""
