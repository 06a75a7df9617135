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
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KAFKA_VERSION = "4.4.0"


def _default_cache() -> Path:
    return Path.home() / ".cache" / "skillstream"


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
    transform_batch_size: int = 5000
    # Processes that parse, validate and normalise next to the one that reads and lands
    # (1: all in one process).
    transform_workers: int = 2
    mastery_threshold: float = 0.8
    k_anonymity: int = 5
    baseline_cohort: str = "control"
    dashboard_port: int = 8501
    # `skillstream serve`: the xAPI Statements resource. Credentials are
    # `source:key:secret[,source:key:secret...]` (HTTP Basic key/secret per source).
    lrs_credentials: str = ""
    lrs_host: str = "localhost"
    lrs_port: int = 8080
    lrs_max_request_bytes: int = 10 * 1024 * 1024  # larger requests get 413
    lrs_retry_after_seconds: int = 5  # Retry-After of a 503 when Kafka cannot be reached

    # ---- derived locations -------------------------------------------------------
    @property
    def kafka_libs(self) -> Path:
        return self.cache / f"kafka-{KAFKA_VERSION}" / "libs"

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


def _coerce(name: str, raw: Any, origin: str) -> Any:
    kind = Settings.__dataclass_fields__[name].type
    try:
        if kind == "Path":
            return Path(os.path.expanduser(str(raw)))
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"{origin}: expected {kind}, got {raw!r}") from None
    return str(raw)


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
    values: dict[str, Any] = {}
    for name in known:
        env_key = f"SKILLSTREAM_{name.upper()}"
        if env_key in environ:
            values[name] = _coerce(name, environ[env_key], env_key)
        elif name in file_values:
            values[name] = _coerce(name, file_values[name], f"{config_path}: {name}")
    settings = Settings(**values)
    # Relative defaults are anchored to the working directory once, here.
    return replace(
        settings,
        home=(cwd / settings.home).absolute(),
        warehouse=(cwd / settings.warehouse).absolute(),
        cache=(cwd / settings.cache).absolute(),
    )
