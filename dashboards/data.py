"""What the pages read besides the figures (figures.py): the published build, the settings
that shape what is shown, the filters' options, and the live warehouse and broker facts of the
operations pages. Pages lay out widgets; they never write SQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from skillstream import settings as settings_module
from skillstream import warehouse
from skillstream.dashboards import figures
from skillstream.dashboards.figures import FILTER_COLUMNS, FILTER_NAMES, Published
from skillstream.dashboards.suppression import Privacy
from skillstream.quality.publish import open_snapshot
from skillstream.settings import Settings


def published_build() -> Published | None:
    """The build the dashboard shows, and what became of the newest one."""
    return figures.published_build(settings_module.load())


def privacy() -> Privacy:
    return Privacy.from_settings(settings_module.load())


def filter_options(build: Published) -> dict[str, list[str]]:
    """The values each filter offers, from the learner-grain marts (once per published build)."""
    return _filter_options(str(build.snapshot))


@st.cache_data(max_entries=2, show_spinner=False)
def _filter_options(snapshot: str) -> dict[str, list[str]]:
    con = open_snapshot(snapshot).cursor()
    try:
        present = warehouse.table_names(con, "marts")
        options: dict[str, set[str]] = {name: set() for name in FILTER_NAMES}
        for table in ("learner_programs", "learner_skills"):
            if table not in present:
                continue
            for name, column in FILTER_COLUMNS[table].items():
                rows = con.execute(f"SELECT DISTINCT {column} FROM marts.{table}").fetchall()
                options[name].update(str(v) for (v,) in rows if v is not None)
    finally:
        con.close()
    return {name: sorted(values) for name, values in options.items()}


def baseline_cohort() -> str:
    return settings_module.load().baseline_cohort


# ---- the warehouse itself: quality runs, quarantine, landing (Data quality, Pipeline health) --


@st.cache_data(ttl=30, show_spinner=False)
def warehouse_facts() -> dict[str, Any]:
    """Operational facts read from the warehouse, briefly and read-only, so writers are not held
    up. {"busy": message} when a writer holds the file."""
    settings = settings_module.load()
    if not settings.warehouse.exists():
        return {
            "busy": "there is no warehouse yet; land statements (`skillstream ingest FILE`, "
            "then `skillstream transform`) or run `skillstream demo`"
        }
    try:
        con = warehouse.connect(settings, read_only=True, wait_seconds=3)
    except warehouse.WarehouseBusy as error:
        return {"busy": str(error)}
    try:
        return _read_warehouse_facts(con)
    finally:
        con.close()


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return table in warehouse.table_names(con, schema)


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def _completeness(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Whether the data is all there: the roster's learners per team and cohort against those
    seen in statements, the statements' date range, and their volume per week."""
    return {
        "roster_coverage": _frame(
            con,
            """
            SELECT coalesce(r.team, '(none)') AS team, coalesce(r.cohort, '(none)') AS cohort,
                   count(*)::BIGINT AS learners,
                   count(*) FILTER (WHERE r.learner_id IN (SELECT learner_id FROM raw.statements))
                       ::BIGINT AS seen
            FROM raw.roster r GROUP BY ALL ORDER BY team, cohort
            """,
        ),
        "statement_dates": _frame(
            con,
            "SELECT min(occurred_at)::DATE AS first, max(occurred_at)::DATE AS last "
            "FROM raw.statements",
        ),
        "weekly_statements": _frame(
            con,
            """
            SELECT date_trunc('week', occurred_at)::DATE AS week, count(*)::BIGINT AS statements,
                   count(DISTINCT learner_id)::BIGINT AS learners
            FROM raw.statements GROUP BY 1 ORDER BY 1
            """,
        ),
    }


def _read_warehouse_facts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if _table_exists(con, "raw", "quarantine"):
        facts["quarantine_reasons"] = _frame(
            con,
            """
            SELECT reason, count(*)::BIGINT AS events, max(quarantined_at) AS latest
            FROM (SELECT unnest(reasons) AS reason, quarantined_at FROM raw.quarantine)
            GROUP BY reason ORDER BY events DESC, reason
            """,
        )
        facts["quarantine_by_topic"] = _frame(
            con,
            "SELECT topic, count(*)::BIGINT AS events FROM raw.quarantine GROUP BY 1 ORDER BY 1",
        )
    if _table_exists(con, "raw", "ingest_offsets"):
        facts["offsets"] = _frame(
            con,
            "SELECT topic, kafka_partition, next_offset, updated_at FROM raw.ingest_offsets "
            "ORDER BY topic, kafka_partition",
        )
    if _table_exists(con, "raw", "statements"):
        facts["landed_per_hour"] = _frame(
            con,
            """
            SELECT date_trunc('hour', landed_at) AS hour, count(*)::BIGINT AS statements
            FROM raw.statements GROUP BY 1 ORDER BY 1
            """,
        )
        facts["freshness"] = _frame(
            con,
            """
            SELECT count(*)::BIGINT AS statements, max(landed_at) AS last_landed_at,
                   max(occurred_at) AS last_occurred_at, max(stored_at) AS last_stored_at
            FROM raw.statements
            """,
        )
    if _table_exists(con, "raw", "statements") and _table_exists(con, "raw", "roster"):
        facts.update(_completeness(con))
    if _table_exists(con, "quality", "runs"):
        facts["runs"] = _frame(
            con,
            """
            SELECT build_id, finished_at, dbt_success, gate_success, is_published,
                   failures::VARCHAR AS failures, statements, quarantined
            FROM quality.runs ORDER BY finished_at DESC LIMIT 20
            """,
        )
    return facts


def from_kafka(read: Callable[[Settings], dict[str, Any]]) -> dict[str, Any]:
    """What `read` finds on the configured Kafka, or {"error": why} when Kafka cannot be read:
    a page shows the error in place of the figure, never a traceback."""
    from skillstream import broker, kafka

    settings = settings_module.load()
    host, port = settings.bootstrap_host_port
    if not broker.port_open(host, port):
        return {"error": f"no Kafka broker answers at {settings.bootstrap}"}
    try:
        return read(settings)
    except kafka.KafkaUnavailable as error:
        return {"error": str(error)}


@st.cache_data(ttl=10, show_spinner=False)
def kafka_end_offsets() -> dict[str, Any]:
    """{"topic", "partitions": {partition: end offset}} of the statements topic, or {"error"}."""
    from skillstream import kafka

    def read(settings: Settings) -> dict[str, Any]:
        ends = kafka.offsets(settings, settings.statements_topic)
        return {
            "topic": settings.statements_topic,
            "partitions": {p: e for p, (_, e) in ends.items()},
        }

    return from_kafka(read)


def consumer_lag(offsets: pd.DataFrame, ends: dict[int, int], topic: str) -> pd.DataFrame:
    """Per partition: Kafka's end offset, the landed next offset, and the lag between them."""
    landed = offsets[offsets["topic"] == topic].set_index("kafka_partition")["next_offset"]
    partitions = sorted(set(ends) | set(int(p) for p in landed.index))
    rows = []
    for partition in partitions:
        end = ends.get(partition)
        next_offset = int(landed.get(partition, 0))
        rows.append(
            {
                "partition": partition,
                "end_offset": end,
                "landed_next_offset": next_offset,
                "lag": None if end is None else max(0, end - next_offset),
            }
        )
    return pd.DataFrame(rows)
