"""`skillstream build`: dbt build, then the Great Expectations checkpoint, then publish.

A build is published only when every dbt model and test and every expectation passed;
otherwise it is recorded as held back and readers keep the last published build.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from skillstream import warehouse
from skillstream.quality import publish
from skillstream.quality.publish import BuildRecord, new_build_id, read_status, record_build
from skillstream.settings import Settings

if TYPE_CHECKING:
    from skillstream.quality.gate import GateResult, PendingGate


def dbt_vars(settings: Settings) -> dict[str, object]:
    """The settings the models read, as dbt vars (dbt_project.yml holds the same defaults)."""
    roi = settings.roi
    return {
        "mastery_threshold": settings.mastery_threshold,
        "baseline_cohort": settings.baseline_cohort,
        "k_anonymity": settings.k_anonymity,
        "comparison_seed": settings.comparison_seed,
        "comparison_resamples": settings.comparison_resamples,
        "session_gap_minutes": settings.session_gap_minutes,
        "incremental_lookback_hours": settings.incremental_lookback_hours,
        "at_risk_inactive_days": settings.at_risk_inactive_days,
        "skills_catalogue": str(settings.skills_catalogue) if settings.skills_catalogue else "",
        "roi_programme_cost_per_learner": roi.programme_cost_per_learner,
        "roi_loaded_hourly_cost": roi.loaded_hourly_cost,
        "roi_value_of_competent_day": roi.value_of_competent_day,
        "roi_kpi_values": dict(roi.kpi_values),
        "roi_kpi_window_days": roi.kpi_window_days,
        "roi_benefit_period_months": roi.benefit_period_months,
        "roi_currency": roi.currency,
    }


def dbt_command(settings: Settings, *args: str) -> list[str]:
    """The dbt command line. Its vars are the settings only: dbt parses the whole project again
    whenever a var changes, so what moves with every build (the slice the data tests look at,
    macro checked_after) is read from the warehouse when the tests run."""
    dbt = Path(sys.executable).with_name("dbt")
    variables = dbt_vars(settings)
    return [
        str(dbt),
        "--no-use-colors",
        *args,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(settings.home / "dbt" / "target"),
        "--log-path",
        str(settings.home / "dbt" / "logs"),
        "--vars",
        json.dumps(variables),
    ]


def run_dbt(
    settings: Settings, *args: str, quiet: bool = False
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        dbt_command(settings, *args),
        env=settings.child_env(),
        cwd=settings.dbt_project_dir,
        text=True,
        capture_output=quiet,
        check=False,
    )


def _dbt_failures(settings: Settings) -> list[dict[str, str]]:
    results_file = settings.home / "dbt" / "target" / "run_results.json"
    if not results_file.exists():
        return [{"check": "dbt", "detail": "dbt did not run (see its output)"}]
    results = json.loads(results_file.read_text())["results"]
    return [
        {
            "check": f"dbt:{r['unique_id']}",
            "detail": f"{r['status']}: {r.get('message') or ''}".strip(),
        }
        for r in results
        if r["status"] not in ("success", "pass")
    ]


# dbt's generic tests that read only the rows landed after the published build
# (dbt_project/macros/generic_tests.sql, macro checked_after).
SLICE_TESTS = {"unique_among_new", "not_null_among_new"}


def _dbt_checks(settings: Settings, checked_after: str | None) -> list[dict[str, object]]:
    """Each dbt test (data and unit) of the run: its table, the rows it covered (for a slice
    test, those landed after `checked_after`, else every row), column and result."""
    target = settings.home / "dbt" / "target"
    results_file, manifest_file = target / "run_results.json", target / "manifest.json"
    if not results_file.exists() or not manifest_file.exists():
        return []
    manifest = json.loads(manifest_file.read_text())
    nodes = {**manifest.get("nodes", {}), **manifest.get("unit_tests", {})}
    checks: list[dict[str, object]] = []
    for result in json.loads(results_file.read_text())["results"]:
        kind = result["unique_id"].split(".")[0]
        if kind not in ("test", "unit_test"):
            continue
        node = nodes.get(result["unique_id"], {})
        metadata = node.get("test_metadata") or {}
        sources = [".".join(s) for s in node.get("sources", [])]
        refs = [r["name"] if isinstance(r, dict) else r[-1] for r in node.get("refs", [])]
        model = node.get("model") or (node.get("attached_node") or "").rsplit(".", 1)[-1]
        sliced = metadata.get("name") in SLICE_TESTS
        checks.append(
            {
                "source": "dbt unit test" if kind == "unit_test" else "dbt test",
                "table": model or ", ".join(sources + refs),
                "covered": (
                    (f"rows landed after {checked_after[:19]}" if checked_after else "all rows")
                    if sliced
                    else None
                ),
                "check": metadata.get("name") or node.get("name") or result["unique_id"],
                "column": node.get("column_name"),
                "passed": result["status"] in ("pass", "success"),
                "observed": result.get("failures") if kind == "test" else result["status"],
            }
        )
    return checks


def start_gate(settings: Settings, build_id: str, checked_after: str | None) -> PendingGate:
    """The Great Expectations gate's process, started as dbt starts: it imports GX while dbt
    runs, then waits to be told to run (quality.gate; imported here: a build with nothing
    new starts no gate)."""
    from skillstream.quality.gate import PendingGate

    return PendingGate(settings, build_id, checked_after)


def run_gate(pending: PendingGate) -> GateResult:
    """The gate, once dbt built every model and passed every test."""
    return pending.run()


def _gate_checks(gate: GateResult) -> list[dict[str, object]]:
    """Each expectation of the Great Expectations gate: its table, the rows it covered,
    column and result."""
    return [
        {
            "source": "Great Expectations",
            "table": o.table or o.suite.replace("_", ".", 1),
            "covered": o.covered,
            "check": o.description or o.expectation,
            "column": o.column,
            "passed": o.success,
            "observed": o.observed,
        }
        for o in gate.outcomes
    ]


def checked_after(settings: Settings, full_refresh: bool) -> str | None:
    """The newest landing the published build checked (its `landed_through`): a build checks
    the landed statements after it. None, so every row is checked: no published build, a
    full refresh, or the lake mode (whose landed statements have no slice of their own)."""
    published, _ = read_status(settings)
    if full_refresh or settings.lake_location is not None or published is None:
        return None
    landed_through = published.get("landed_through")
    if landed_through is None:
        return None
    try:
        datetime.fromisoformat(landed_through)
    except (TypeError, ValueError):
        raise ValueError(
            f"{settings.published_dir / 'current.json'}: landed_through {landed_through!r} "
            "is not a timestamp"
        ) from None
    return str(landed_through)


# What has landed and been imported, from counters the writers keep: the offsets landed per
# partition, and row counts and import times (no scan of the statements themselves).
LANDED_SQL = """
SELECT
    (SELECT string_agg(topic || ':' || kafka_partition || '=' || next_offset, ','
                       ORDER BY topic, kafka_partition) FROM raw.ingest_offsets),
    (SELECT count(*) FROM raw.statements),
    (SELECT count(*) FROM raw.quarantine),
    (SELECT count(*) FROM raw.forgotten_learners),
    (SELECT count(*) || '@' || coalesce(max(imported_at)::VARCHAR, '') FROM raw.roster),
    (SELECT count(*) || '@' || coalesce(max(imported_at)::VARCHAR, '') FROM raw.kpi_observations)
"""

# Files of the dbt project that are not dbt's own output.
NOT_PROJECT_FILES = {"target", "logs", "dbt_packages", ".user.yml"}


def _model_files(settings: Settings) -> list[Path]:
    """The files the models read: the dbt project and the skills catalogue."""
    project = [
        path
        for path in settings.dbt_project_dir.rglob("*")
        if path.is_file()
        and not NOT_PROJECT_FILES & set(path.relative_to(settings.dbt_project_dir).parts)
    ]
    catalogue = Path(settings.skills_catalogue) if settings.skills_catalogue else None
    return sorted(project) + ([catalogue] if catalogue and catalogue.is_file() else [])


def _files_read(settings: Settings) -> list[Path]:
    """The files a build reads besides the warehouse: the models' and the gate's suites."""
    gate = (Path(publish.__file__).parent / "suites").glob("*.py")
    return _model_files(settings) + sorted(gate)


def models_fingerprint(settings: Settings) -> str:
    """The models' code and the settings they read (not the data): the incremental models
    hold rows the last build's models made with the last build's settings, so a build whose
    fingerprint differs from the last successful dbt run's rebuilds them from raw."""
    digest = hashlib.sha256(json.dumps(dbt_vars(settings), default=str).encode())
    for path in _model_files(settings):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _last_modelled_with(con: duckdb.DuckDBPyConnection) -> str | None:
    """models_fingerprint of the newest build whose dbt run succeeded; None without one."""
    try:
        rows = con.execute(
            "SELECT modelled_with FROM quality.runs WHERE dbt_success "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
    # no build recorded yet (CatalogException), or only builds recorded without modelled_with
    # (BinderException): unknown, so the next build is a full refresh
    except (duckdb.CatalogException, duckdb.BinderException):
        return None
    return rows[0][0] if rows else None


def input_fingerprint(settings: Settings, con: duckdb.DuckDBPyConnection) -> str:
    """What a build models, cheaply: the landed counters (LANDED_SQL), the settings the models
    read, today's date (at-risk is judged at the build's time, so a new day is something new)
    and the content of the files a build reads. Equal fingerprints, equal builds."""
    (landed,) = con.execute(LANDED_SQL).fetchall()
    today = datetime.now(UTC).date().isoformat()
    digest = hashlib.sha256(json.dumps([landed, dbt_vars(settings), today], default=str).encode())
    for path in _files_read(settings):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class NothingNew:
    """A build skipped: nothing landed, imported or changed since the published build."""

    build_id: str


def build_if_new(
    settings: Settings, quiet: bool = False, unit_tests: bool = True, force: bool = False
) -> BuildRecord | NothingNew:
    """A build, unless the published build's inputs are this build's (then dbt, the gate and
    publishing would make the same snapshot again); `force` builds anyway."""
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        inputs = input_fingerprint(settings, con)
    finally:
        con.close()
    published, _ = read_status(settings)
    if not force and published is not None and published.get("inputs") == inputs:
        return NothingNew(published["build_id"])
    return build(settings, quiet=quiet, unit_tests=unit_tests)


def build(
    settings: Settings, quiet: bool = False, full_refresh: bool = False, unit_tests: bool = True
) -> BuildRecord:
    """One build. `unit_tests=False` leaves dbt's unit tests out: they check the models' code
    against fixtures, not the data, so CI runs them (every `skillstream build` of the test
    suite) and the scheduled build of `skillstream run` does not pay for them each round."""
    started = datetime.now(UTC)
    build_id = new_build_id(started)
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)  # a build before the first transform has empty inputs
        (newest,) = con.execute(
            "SELECT max(occurred_at)::VARCHAR, max(stored_at)::VARCHAR, max(landed_at)::VARCHAR "
            "FROM raw.statements"
        ).fetchall()
        inputs = input_fingerprint(settings, con)
        modelled_with = models_fingerprint(settings)
        # models or settings changed since the last dbt run: incremental rows are stale
        full_refresh = full_refresh or _last_modelled_with(con) != modelled_with
    finally:
        con.close()
    after = checked_after(settings, full_refresh)
    # A failed dbt run that wrote no results must not be read as the previous run's results.
    (settings.home / "dbt" / "target" / "run_results.json").unlink(missing_ok=True)
    # Statement-level models are incremental; --full-refresh rebuilds them from raw.
    options = [
        *(["--full-refresh"] if full_refresh else []),
        *([] if unit_tests else ["--exclude", "test_type:unit"]),
    ]
    pending = start_gate(settings, build_id, after)
    dbt = run_dbt(settings, "build", *options, quiet=quiet)
    failures: list[dict[str, str]] = []
    gate: GateResult | None = None
    if dbt.returncode != 0:
        pending.cancel()
        failures = _dbt_failures(settings)
    else:
        gate = run_gate(pending)
        failures = [
            {
                "check": f"gx:{o.suite}:{o.expectation}" + (f":{o.column}" if o.column else ""),
                "detail": f"{o.description}: {o.observed}" if o.description else str(o.observed),
            }
            for o in gate.failures
        ]
    record = BuildRecord(
        build_id=build_id,
        started_at=started.replace(tzinfo=None).isoformat(),
        finished_at=datetime.now(UTC).replace(tzinfo=None).isoformat(),
        dbt_success=dbt.returncode == 0,
        gate_success=gate.success if gate else None,
        is_published=dbt.returncode == 0 and gate is not None and gate.success,
        failures=failures,
        checks=_dbt_checks(settings, after) + (_gate_checks(gate) if gate else []),
        data_docs=str(gate.data_docs) if gate and gate.data_docs else None,
        newest_event_at=newest[0],
        newest_stored_at=newest[1],
        landed_through=newest[2],
        inputs=inputs,
        modelled_with=modelled_with,
    )
    return record_build(settings, record)
