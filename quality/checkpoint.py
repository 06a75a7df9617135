"""The Great Expectations checkpoint: every suite against the warehouse, Data Docs written.

raw.statements is checked row by row on its new slice only, the rows landed after the
published build's newest landing (`checked_after`), which that build checked; its totals come
from counts DuckDB keeps (suites/raw_statements.py, suites/raw_statements_totals.py). A build
with no published build before it, a full refresh and the lake mode check every row.

The checkpoint runs in a process of its own (quality/gate.py, `PendingGate`): GX's
SQLAlchemy engine holds DuckDB connections with its own configuration until the process
exits, and the build must write the warehouse afterwards. The build starts it as dbt starts,
so importing GX overlaps dbt; it reads `run` on its standard input before it opens the
warehouse.

GX has no DuckDB dialect of its own; it runs through SQLAlchemy (duckdb-engine). GX closes
a pooled connection before it fetches a query's rows, which DuckDB does not allow, so the
DuckDB dialect joins the dialects GX keeps one persistent connection for.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb_engine
import great_expectations as gx
import great_expectations.execution_engine.sqlalchemy_execution_engine as gx_sql_engine
import sqlalchemy
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core.run_identifier import RunIdentifier

from skillstream import warehouse
from skillstream.quality.gate import GO, ExpectationOutcome, GateResult
from skillstream.quality.suites import SUITES, raw_statements, raw_statements_totals
from skillstream.quality.suites.common import GateContext
from skillstream.settings import Settings

CHECKPOINT = "publish_gate"
DATASOURCE = "warehouse"
DATA_DOCS_SITE = "local_site"


class _DuckDBDialect(str):
    value = "duckdb"  # GX compares dialect names with enum members' .value


@contextlib.contextmanager
def waiting_for_the_warehouse_lock(settings: Settings) -> Iterator[None]:
    """Inside the block, SQLAlchemy's DuckDB connections (GX's engine) wait for a writer (a
    transform landing a batch) to let go of the warehouse, as every other connection does,
    rather than failing the gate."""

    def connect_waiting(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
        return warehouse.waiting_for_lock(
            # the dialect consumes its parameters: every attempt gets its own copy
            lambda: dialect.connect(*cargs, **copy.deepcopy(cparams)),
            settings.warehouse,
        )

    sqlalchemy.event.listen(duckdb_engine.Dialect, "do_connect", connect_waiting)
    try:
        yield
    finally:
        sqlalchemy.event.remove(duckdb_engine.Dialect, "do_connect", connect_waiting)


def _keep_duckdb_connection_open() -> None:
    dialects: tuple[Any, ...] = gx_sql_engine._PERSISTED_CONNECTION_DIALECTS
    if "duckdb" not in dialects:
        gx_sql_engine._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialect("duckdb"))


def _exception_message(info: Any) -> str | None:
    """GX reports errors either flat or keyed by the metric that raised them."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for nested in info.values():
        if isinstance(nested, dict) and nested.get("raised_exception"):
            return str(nested.get("exception_message"))
    return None


# Validation results (and their Data Docs pages) of this many builds are kept per suite:
# Data Docs rebuilds its index from every stored result at each checkpoint (~18 ms a result),
# so under `skillstream run` (a build every 30 s, ~10 results each) an unbounded store would
# add seconds to every build within the hour.
KEEP_VALIDATION_RESULTS = 10


def prune_validation_results(settings: Settings, keep: int = KEEP_VALIDATION_RESULTS) -> None:
    """Delete each suite's stored validation results and Data Docs pages but the newest
    `keep` builds' (run names are build ids, which sort by time)."""
    uncommitted = settings.quality_dir / "gx" / "uncommitted"
    for store in (
        uncommitted / "validations",
        uncommitted / "data_docs" / DATA_DOCS_SITE / "validations",
    ):
        for suite in (p for p in store.glob("*") if p.is_dir()):
            runs = sorted(p for p in suite.iterdir() if p.is_dir())
            for old in runs[:-keep] if keep else runs:
                shutil.rmtree(old, ignore_errors=True)


def _context(settings: Settings) -> Any:
    settings.quality_dir.mkdir(parents=True, exist_ok=True)
    prune_validation_results(settings)
    # The suites are code and rebuilt on every run: GX's stored suites, validation
    # definitions and checkpoint are a cache of the last run, and one naming a table that
    # no longer exists would stop GX from loading the checkpoint at all. Results and Data
    # Docs (gx/uncommitted) stay.
    for store in ("checkpoints", "validation_definitions", "expectations"):
        for stored in (settings.quality_dir / "gx" / store).glob("*.json"):
            stored.unlink()
    context = gx.get_context(mode="file", project_root_dir=str(settings.quality_dir))
    return context


def data_docs_index(settings: Settings) -> Path:
    return settings.quality_dir / "gx" / "uncommitted" / "data_docs" / DATA_DOCS_SITE / "index.html"


@dataclass(frozen=True)
class Landed:
    """How many landed statements the gate's raw suites cover: all, and the new slice."""

    rows: int
    slice_rows: int | None  # None: no slice, every row is checked


def gate_context(
    settings: Settings, checked_after: datetime | None = None
) -> tuple[GateContext, set[str], Landed]:
    """The context the suites are built from, the tables the warehouse has and the landed
    statements' counts (count(*) of a table is answered from its row groups' counts, and the
    slice's from the row groups landed after `checked_after`: no row is read)."""
    con = warehouse.connect(settings, read_only=True)
    try:
        tables = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database()"
            ).fetchall()
        }
        previous = None
        if "quality.runs" in tables:
            row = con.execute(
                "SELECT statements FROM quality.runs WHERE is_published "
                "ORDER BY started_at DESC LIMIT 1"
            ).fetchone()
            previous = row[0] if row else None
        landed = Landed(0, None if checked_after is None else 0)
        statements = ".".join(raw_statements.relation(settings))
        if statements in tables:
            (rows,) = con.execute(f"SELECT count(*) FROM {statements}").fetchall()[0]
            slice_rows = None
            if checked_after is not None:
                (slice_rows,) = con.execute(
                    f"SELECT count(*) FROM {statements} WHERE landed_at > ?", [checked_after]
                ).fetchall()[0]
            landed = Landed(rows, slice_rows)
    finally:
        con.close()
    now = datetime.now(UTC).replace(tzinfo=None)
    gate = GateContext(
        settings=settings, now=now, previous_statements=previous, checked_after=checked_after
    )
    return gate, tables, landed


def _relation(module: ModuleType, settings: Settings) -> tuple[str, str]:
    """The schema and table a suite validates: the landed statements' are the staging
    layer's in the lake mode (warehouse.landed_relations)."""
    if module in (raw_statements, raw_statements_totals):
        return raw_statements.relation(settings)
    return module.SCHEMA, module.TABLE


def _covered(module: ModuleType, gate: GateContext, landed: Landed) -> str:
    """Which rows of its table a suite checks, in words for the list of checks that ran."""
    if module is raw_statements_totals:
        return f"table totals ({landed.rows:,} rows)"
    if module is raw_statements and gate.checked_after is not None:
        rows = landed.slice_rows or 0
        after = gate.checked_after.isoformat(sep=" ", timespec="seconds")
        return f"new slice: {rows:,} row{'' if rows == 1 else 's'} landed after {after}"
    if module is raw_statements:
        return f"all {landed.rows:,} rows"
    return "all rows"


def _batch_definition(datasource: Any, module: ModuleType, gate: GateContext) -> Any:
    """The batch a suite validates: the new slice of raw.statements for raw_statements (a
    query asset), else the whole table (one table asset per table, shared by its suites)."""
    schema, table = _relation(module, gate.settings)
    query = raw_statements.slice_query(gate) if module is raw_statements else None
    if query is not None:
        asset = datasource.add_query_asset(name=f"{schema}.{table} new slice", query=query)
        return asset.add_batch_definition_whole_table("new_slice")
    name = f"{schema}.{table}"
    if name in datasource.get_asset_names():
        return datasource.get_asset(name).get_batch_definition("whole_table")
    asset = datasource.add_table_asset(name=name, table_name=table, schema_name=schema)
    return asset.add_batch_definition_whole_table("whole_table")


def run_checkpoint(
    settings: Settings, build_id: str, checked_after: datetime | None = None
) -> GateResult:
    """Validate every suite's table (raw.statements' rows: those landed after
    `checked_after`); the gate passes only when every expectation holds."""
    gate, tables, landed = gate_context(settings, checked_after)
    _keep_duckdb_connection_open()
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = _context(settings)  # before any suite: GX builds suites in an active context
    missing = [
        ExpectationOutcome(
            module.build_suite(gate).name,
            "table_exists",
            None,
            False,
            f"{name} does not exist",
            table=name,
        )
        for module in SUITES
        if (name := ".".join(_relation(module, settings))) not in tables
    ]
    datasource = context.data_sources.add_or_update_sql(
        name=DATASOURCE,
        connection_string=f"duckdb:///{settings.warehouse}",
        create_temp_table=False,
    )
    definitions = []
    scope: dict[str, tuple[str, str]] = {}  # suite name: its table and the rows it covers
    for asset in list(datasource.assets):
        datasource.delete_asset(asset.name)
    for module in SUITES:
        table_name = ".".join(_relation(module, settings))
        if table_name not in tables:
            continue
        batch = _batch_definition(datasource, module, gate)
        suite = context.suites.add_or_update(module.build_suite(gate))
        scope[suite.name] = (table_name, _covered(module, gate, landed))
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)
            )
        )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=CHECKPOINT,
            validation_definitions=definitions,
            actions=[UpdateDataDocsAction(name="update_data_docs")],
            result_format="SUMMARY",
        )
    )
    try:
        result = checkpoint.run(run_id=RunIdentifier(run_name=build_id))
    finally:
        engine = datasource.get_execution_engine()
        connection = getattr(engine, "_connection", None)
        if connection is not None:
            connection.close()
        engine.engine.dispose()
    outcomes = list(missing)
    for validation in result.run_results.values():
        suite_name = validation.suite_name
        for item in validation.results:
            config = item.expectation_config
            observed = (item.result or {}).get("observed_value")
            error = _exception_message(item.exception_info)
            if error:
                observed = f"error: {error}"
            check = (config.meta or {}).get("check")
            table, covered = scope.get(suite_name, (None, None))
            outcomes.append(
                ExpectationOutcome(
                    suite=suite_name,
                    expectation=check or config.type,
                    column=config.kwargs.get("column"),
                    success=bool(item.success),
                    observed=observed
                    if observed is not None
                    else (item.result or {}).get("unexpected_count"),
                    description=config.description,
                    table=table,
                    covered=covered,
                )
            )
    return GateResult(
        success=bool(result.success) and not missing,
        outcomes=outcomes,
        data_docs=data_docs_index(settings),
    )


def main(argv: list[str]) -> int:
    from skillstream import settings as settings_module

    settings = settings_module.load()
    checked_after = datetime.fromisoformat(argv[1]) if len(argv) > 1 else None
    if sys.stdin.readline().strip() != GO:  # PendingGate.cancel, or its parent went away
        return 0
    with waiting_for_the_warehouse_lock(settings):
        result = run_checkpoint(settings, argv[0], checked_after)
    print(
        json.dumps(
            {
                "success": result.success,
                "outcomes": [asdict(o) for o in result.outcomes],
                "data_docs": str(result.data_docs) if result.data_docs else None,
            },
            default=str,
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
