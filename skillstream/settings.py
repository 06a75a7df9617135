"""Settings: the one place that reads the environment and `skillstream.toml`.

Precedence, highest first: environment variable `SKILLSTREAM_<NAME>`, the top-level key
`<name>` of `skillstream.toml` (in the working directory, or the file named by
`SKILLSTREAM_CONFIG`), then the default below. Relative paths are resolved against the
working directory, so two instances with different settings run side by side.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KAFKA_VERSION = "4.4.0"


def _default_cache() -> Path:
    return Path.home() / ".cache" / "skillstream"


@dataclass(frozen=True)
class RoiSettings:
    """The `[roi]` section: every assumption of the ROI (Phillips) marts, in `currency`.

    Environment: `SKILLSTREAM_ROI_<NAME>`; `kpi_values` there is `kpi=value[,kpi=value...]`.
    The baseline cohort is the top-level `baseline_cohort`, shared with the cohort comparison.
    """

    programme_cost_per_learner: float = 1500.0  # spend per enrolled learner
    loaded_hourly_cost: float = 60.0  # per seat-time hour when the roster has no hourly_cost
    value_of_competent_day: float = 250.0  # value of one day earlier at competency
    # KPI-linked benefit: value of one unit of KPI change per learner (or team) and day,
    # e.g. {"tickets_resolved_per_day": 12.0}; KPIs not listed are valued at 0.
    kpi_values: dict[str, float] = field(default_factory=dict)
    kpi_window_days: int = 30  # KPI mean this many days before vs after competency
    benefit_period_months: int = 12  # KPI gains are counted over this period
    currency: str = "USD"
    # A pilot's organisation-wide projection (docs/pilot.md): employees it would reach and the
    # spend per employee and year (the report's inputs; the pages start from them).
    projection_headcount: int = 500
    projection_spend_per_employee: float = 1500.0


PILOT_METRICS = ("completion", "mastery", "days_to_competency", "retention_30d")


@dataclass(frozen=True)
class PilotSettings:
    """One `[[pilots]]` entry (docs/pilot.md): a cohort trying a program (metric completion)
    or a skill (the other metrics) from `start` for `window_days`, against `baseline_cohort`,
    planned to show `lift`: a change of the rate (0.2 = +20 points) or, for
    days_to_competency, a relative change of the median (-0.4 = 40 % fewer days)."""

    cohort: str
    metric: str
    lift: float
    start: date
    baseline_cohort: str
    program: str = ""
    skill: str = ""
    window_days: int = 30
    name: str = ""

    @property
    def subject(self) -> str:
        return self.program if self.metric == "completion" else self.skill


@dataclass(frozen=True)
class Settings:
    home: Path = Path(".skillstream")
    bootstrap: str = "localhost:9092"
    warehouse: Path = Path("data/warehouse.duckdb")
    cache: Path = field(default_factory=_default_cache)
    salt: str = ""
    statements_topic: str = "xapi.statements"
    dlq_topic: str = "xapi.dlq"
    partitions: int = 4
    broker_heap: str = "768m"
    beam_runner: str = "FnApiRunner"
    # The lake mode (docs/scale-out.md): `<catalog URI>,<warehouse>`; the transform lands
    # raw.statements and raw.quarantine as Iceberg tables there. Empty: the DuckDB warehouse.
    lake: str = ""
    transform_batch_size: int = 5000
    # Records the landing gathers into one transaction from consecutive batches of a partition
    # while catching up: DuckDB writes an insert of a row group (122,880 rows) or more straight
    # to the database file, once; smaller ones go through the WAL and are written again at
    # the checkpoint. Two row groups: 1M statements land in ~12 s, not ~38 s (batches of 5000).
    transform_land_rows: int = 245_760
    # How many normalise side by side with the reading and landing: threads running the
    # compiled normaliser (it releases the GIL), or, without it, worker processes running the
    # Python one (1: all on the reading thread).
    transform_workers: int = 2
    # How many nice values below the rest of the transform's process the compiled
    # normaliser's threads run (0-19; 0: alike). The reading thread feeds them and the landing
    # thread drains them; below those two, the normalisers take the CPU they leave instead of
    # preempting them. 1M statements on 2 cores: ~5 % faster at 10 than at 0. Linux only.
    transform_normaliser_nice: int = 10
    mastery_threshold: float = 0.8
    k_anonymity: int = 5
    # The k of views below org level (a team or role filter, a table by team or role); a works
    # council may ask for more than k_anonymity there. 0: k_anonymity (docs/privacy.md).
    k_anonymity_subteam: int = 0
    baseline_cohort: str = "control"
    # The quality gate (quality/suites/raw_statements.py): a build is held back when more
    # than this share of the events received is quarantined, when raw.statements has fewer
    # rows than this share of the last published build's, or when the newest statement
    # landed longer ago than this many hours (0: no freshness check).
    quality_max_quarantine_share: float = 0.05
    quality_min_volume_ratio: float = 0.9
    quality_max_staleness_hours: float = 168.0
    dashboard_port: int = 8501
    # Targets of the dashboard's Overview KPIs.
    target_completion_rate: float = 0.7
    target_mastery_rate: float = 0.6
    target_median_days_to_competency: float = 21.0
    target_retention_30d_rate: float = 0.8
    target_roi_pct: float = 100.0
    # `skillstream serve`: the xAPI Statements resource. Credentials are
    # `source:key:secret[,source:key:secret...]` (HTTP Basic key/secret per source).
    lrs_credentials: str = ""
    lrs_host: str = "localhost"
    lrs_port: int = 8080
    lrs_max_request_bytes: int = 10 * 1024 * 1024  # larger requests get 413
    lrs_retry_after_seconds: int = 5  # Retry-After of a 503 when Kafka cannot be reached
    # A request must arrive whole (headers and body) this long after the connection opened
    # or the previous answer, else the connection is closed: a slow client holds nothing.
    lrs_request_timeout_seconds: float = 30.0
    lrs_max_connections: int = 200  # more connections at once are answered 503
    # Attachment bytes of multipart requests: "store" keeps them under
    # SKILLSTREAM_HOME/attachments/<sha256>, "drop" keeps only their metadata.
    lrs_attachments: str = "store"
    # The version answered to a request without X-Experience-API-Version (it gets 400).
    lrs_default_xapi_version: str = "2.0.0"
    # dbt models (docs/design.md §4): cohort comparison bootstrap, engagement sessions, incremental
    # statement-level models re-read statements landed this long before the last run.
    comparison_seed: int = 20260701
    comparison_resamples: int = 2000
    session_gap_minutes: int = 30
    incremental_lookback_hours: int = 24
    # at_risk_weekly: enrolled, active beyond launching, not completed, silent this many days
    at_risk_inactive_days: int = 7
    # A CSV naming skills and programmes (columns iri,name[,program]): its names win over
    # those of the activity definitions in the statements (marts.subject_names). Empty: none.
    skills_catalogue: str = ""
    roi: RoiSettings = field(default_factory=RoiSettings)
    # Pilots to read out (`[[pilots]]` tables of skillstream.toml only; no environment form).
    pilots: tuple[PilotSettings, ...] = ()

    # ---- derived locations -------------------------------------------------------
    @property
    def kafka_libs(self) -> Path:
        return self.cache / f"kafka-{KAFKA_VERSION}" / "libs"

    @property
    def attachments_dir(self) -> Path:
        """Attachment data received by `skillstream serve`, one file per SHA-256."""
        return self.home / "attachments"

    @property
    def broker_dir(self) -> Path:
        return self.home / "broker"

    @property
    def published_dir(self) -> Path:
        """Snapshots of builds that passed the quality gate; dashboards read only these."""
        return self.warehouse.parent / f"{self.warehouse.stem}.published"

    @property
    def quality_dir(self) -> Path:
        return self.home / "quality"

    @property
    def data_docs_dir(self) -> Path:
        return self.quality_dir / "data_docs"

    @property
    def dbt_project_dir(self) -> Path:
        return PROJECT_ROOT / "dbt_project"

    @property
    def lake_location(self) -> LakeLocation | None:
        """The lake's catalog and warehouse, or None: landing into the DuckDB warehouse."""
        return _lake_location(self.lake, "lake") if self.lake else None

    @property
    def bootstrap_host_port(self) -> tuple[str, int]:
        first = self.bootstrap.split(",")[0].strip()
        host, _, port = first.rpartition(":")
        return host or "localhost", int(port)

    def learner_salt(self) -> str:
        """The salt of learner ids: the setting, else one generated once per home."""
        if self.salt:
            return self.salt
        salt_file = self.home / "salt"
        if not salt_file.exists():
            salt_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(16))
        return salt_file.read_text().strip()

    def as_env(self) -> dict[str, str]:
        """These settings as environment variables, for child processes (dbt, Streamlit)."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, RoiSettings):
                env.update(_roi_env(value))
                continue
            if f.name == "pilots":
                continue
            env[f"SKILLSTREAM_{f.name.upper()}"] = str(value)
        env["SKILLSTREAM_SALT"] = self.learner_salt()
        return env

    def child_env(self) -> dict[str, str]:
        """The environment of a child process (dbt, Streamlit): ours plus these settings."""
        return {**os.environ, **self.as_env()}

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


class SettingsError(ValueError):
    """A setting that cannot be used, named with where it came from."""


@dataclass(frozen=True)
class LakeLocation:
    """Where the lake is: an Iceberg catalog (`sqlite:///…` or `postgresql://…`: a SQL
    catalog; `http(s)://…`: a REST catalog) and the warehouse its data files go to (a path,
    or a URI such as `s3://bucket/warehouse`)."""

    catalog_uri: str
    warehouse: str

    @property
    def catalog_type(self) -> str:
        return "rest" if self.catalog_uri.startswith(("http://", "https://")) else "sql"


LAKE_CATALOG_SCHEMES = ("sqlite:", "postgresql", "mysql", "http://", "https://")


def _lake_location(raw: str, origin: str) -> LakeLocation:
    catalog_uri, separator, warehouse = (part.strip() for part in raw.partition(","))
    if not separator or not catalog_uri or not warehouse or "," in warehouse:
        raise SettingsError(
            f"{origin}: expected <catalog URI>,<warehouse> "
            f"(e.g. sqlite:///lake/catalog.db,lake/warehouse), got {raw!r}"
        )
    if not catalog_uri.startswith(LAKE_CATALOG_SCHEMES):
        raise SettingsError(
            f"{origin}: the catalog URI must start with one of {', '.join(LAKE_CATALOG_SCHEMES)}"
            f" (a SQL or REST Iceberg catalog), got {catalog_uri!r}"
        )
    return LakeLocation(catalog_uri, warehouse)


def _anchored_lake(raw: str, origin: str, cwd: Path) -> str:
    """The lake setting checked, with a relative SQLite file and warehouse path anchored to
    the working directory (as every path setting is)."""
    if not raw:
        return raw
    location = _lake_location(raw, origin)
    catalog_uri = location.catalog_uri
    sqlite_file = catalog_uri.removeprefix("sqlite:///")
    if catalog_uri.startswith("sqlite:///") and not sqlite_file.startswith("/"):
        catalog_uri = f"sqlite:///{(cwd / sqlite_file).absolute()}"
    warehouse = location.warehouse
    if "://" not in warehouse:
        warehouse = (cwd / os.path.expanduser(warehouse)).absolute().as_uri()
    return f"{catalog_uri},{warehouse}"


def _roi_env(roi: RoiSettings) -> dict[str, str]:
    env = {}
    for f in fields(roi):
        value = getattr(roi, f.name)
        if isinstance(value, dict):
            value = ",".join(f"{k}={v}" for k, v in value.items())
        env[f"SKILLSTREAM_ROI_{f.name.upper()}"] = str(value)
    return env


def _kpi_values(raw: Any, origin: str) -> dict[str, float]:
    if isinstance(raw, str):
        pairs = [item.partition("=") for item in raw.split(",") if item.strip()]
        if any(not sep for _, sep, _ in pairs):
            raise SettingsError(f"{origin}: expected kpi=value[,kpi=value...], got {raw!r}")
        raw = {name.strip(): value for name, _, value in pairs}
    if not isinstance(raw, dict):
        raise SettingsError(f"{origin}: expected a table of kpi = value, got {raw!r}")
    try:
        return {str(k): float(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        raise SettingsError(f"{origin}: every KPI value must be a number, got {raw!r}") from None


def _load_roi(file_section: Any, environ: Mapping[str, str], origin: str) -> RoiSettings:
    if file_section is None:
        file_section = {}
    if not isinstance(file_section, dict):
        raise SettingsError(f"{origin}: [roi] must be a table")
    known = {f.name: f.type for f in fields(RoiSettings)}
    unknown = sorted(set(file_section) - set(known))
    if unknown:
        raise SettingsError(f"{origin}: unknown setting(s) roi.{', roi.'.join(unknown)}")
    values: dict[str, Any] = {}
    for name, kind in known.items():
        env_key = f"SKILLSTREAM_ROI_{name.upper()}"
        if env_key in environ:
            raw, where = environ[env_key], env_key
        elif name in file_section:
            raw, where = file_section[name], f"{origin}: roi.{name}"
        else:
            continue
        if name == "kpi_values":
            values[name] = _kpi_values(raw, where)
            continue
        try:
            values[name] = {"float": float, "int": int}.get(str(kind), str)(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{where}: expected {kind}, got {raw!r}") from None
    return RoiSettings(**values)


_PILOT_KEYS = {f.name for f in fields(PilotSettings)}


def _pilot(entry: Any, where: str, baseline_cohort: str) -> PilotSettings:
    if not isinstance(entry, dict):
        raise SettingsError(f"{where}: expected a table")
    unknown = sorted(set(entry) - _PILOT_KEYS)
    missing = sorted({"cohort", "metric", "lift", "start"} - set(entry))
    if unknown or missing:
        raise SettingsError(f"{where}: unknown key(s) {unknown}, missing key(s) {missing}")
    metric = entry["metric"]
    if metric not in PILOT_METRICS:
        raise SettingsError(f"{where}.metric: one of {', '.join(PILOT_METRICS)}, got {metric!r}")
    subject = "program" if metric == "completion" else "skill"
    if not entry.get(subject):
        raise SettingsError(f"{where}: metric {metric} needs the {subject} it is measured on")
    try:
        start = entry["start"]
        start = start if isinstance(start, date) else date.fromisoformat(str(start))
        pilot = PilotSettings(
            **{
                "baseline_cohort": baseline_cohort,
                **entry,
                "start": start,
                "lift": float(entry["lift"]),
            }
        )
    except (TypeError, ValueError) as error:
        raise SettingsError(f"{where}: {error}") from None
    if pilot.window_days < 1 or pilot.lift == 0 or not -1 < pilot.lift < 1:
        raise SettingsError(f"{where}: window_days must be >= 1 and lift in (-1, 1), not 0")
    return replace(pilot, name=pilot.name or pilot.cohort)


def _load_pilots(raw: Any, origin: str, baseline_cohort: str) -> tuple[PilotSettings, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise SettingsError(f"{origin}: pilots must be an array of tables ([[pilots]])")
    return tuple(
        _pilot(entry, f"{origin}: pilots[{i}]", baseline_cohort) for i, entry in enumerate(raw)
    )


# Counts with a least value (transform_land_rows 0: every batch lands on its own).
MINIMUMS = {
    "partitions": 1,
    "transform_batch_size": 1,
    "transform_workers": 1,
    "transform_land_rows": 0,
    "transform_normaliser_nice": 0,
    "at_risk_inactive_days": 1,
}
# Counts with a greatest value.
MAXIMUMS = {"transform_normaliser_nice": 19}


def _coerce(name: str, raw: Any, origin: str) -> Any:
    kind = Settings.__dataclass_fields__[name].type
    try:
        if kind == "Path":
            return Path(os.path.expanduser(str(raw)))
        if kind == "int":
            number = int(raw)
        elif kind == "float":
            return float(raw)
        else:
            return str(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"{origin}: expected {kind}, got {raw!r}") from None
    if number < MINIMUMS.get(name, number):
        raise SettingsError(f"{origin}: must be at least {MINIMUMS[name]}, got {number}")
    if number > MAXIMUMS.get(name, number):
        raise SettingsError(f"{origin}: must be at most {MAXIMUMS[name]}, got {number}")
    return number


def load(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Settings from the environment and the config file."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    config_path = Path(environ.get("SKILLSTREAM_CONFIG", cwd / "skillstream.toml"))
    file_values: dict[str, Any] = {}
    if config_path.is_file():
        try:
            with config_path.open("rb") as handle:
                file_values = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"{config_path}: {error}") from None
    known = {f.name for f in fields(Settings)}
    unknown = sorted(
        key
        for key, value in file_values.items()
        if key not in known and not isinstance(value, dict)
    )
    if unknown:
        raise SettingsError(f"{config_path}: unknown setting(s) {', '.join(unknown)}")
    values: dict[str, Any] = {
        "roi": _load_roi(file_values.get("roi"), environ, str(config_path)),
    }
    origins: dict[str, str] = {}
    for name in known - {"roi", "pilots"}:
        env_key = f"SKILLSTREAM_{name.upper()}"
        if env_key in environ:
            values[name] = _coerce(name, environ[env_key], env_key)
            origins[name] = env_key
        elif name in file_values:
            origins[name] = f"{config_path}: {name}"
            values[name] = _coerce(name, file_values[name], origins[name])
    values["pilots"] = _load_pilots(
        file_values.get("pilots"),
        str(config_path),
        values.get("baseline_cohort", Settings.baseline_cohort),
    )
    settings = Settings(**values)
    # Relative defaults are anchored to the working directory once, here.
    return replace(
        settings,
        home=(cwd / settings.home).absolute(),
        warehouse=(cwd / settings.warehouse).absolute(),
        cache=(cwd / settings.cache).absolute(),
        lake=_anchored_lake(settings.lake, origins.get("lake", "lake"), cwd),
        skills_catalogue=str((cwd / settings.skills_catalogue).absolute())
        if settings.skills_catalogue
        else "",
    )
