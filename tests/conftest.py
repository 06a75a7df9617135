"""Shared fixtures: isolated settings per test, one real Kafka broker per session, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from skillstream import broker as broker_module
from skillstream import settings as settings_module
from skillstream.quality.publish import BuildRecord, new_build_id, record_build
from skillstream.settings import Settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "data" / "corpus"
ARTIFACTS = REPO / "tests" / "artifacts"


def make_settings(root: Path, **overrides: str) -> Settings:
    """Settings as a user would set them: environment variables, here scoped to `root`."""
    environ = {
        "SKILLSTREAM_HOME": str(root / "home"),
        "SKILLSTREAM_WAREHOUSE": str(root / "data" / "warehouse.duckdb"),
        "SKILLSTREAM_SALT": "test-salt",
        **{f"SKILLSTREAM_{k.upper()}": v for k, v in overrides.items()},
    }
    return settings_module.load(environ=environ, cwd=root)


def normalise_one(
    record: tuple[int, bytes | None, str | None, int], partition: int, salt: str
) -> tuple[tuple | None, tuple | None]:
    """(row, None) or (None, reject) of one Kafka record (offset, value, source, timestamp_ms)
    through the Python normaliser, the way a worker process normalises its share."""
    from skillstream.transforms.normalise import normalise_chunk

    rows, rejects = normalise_chunk([record], partition, salt)
    return (rows[0] if rows else None), (rejects[0] if rejects else None)


def record_a_build(settings: Settings, published: bool = True, **fields: Any) -> BuildRecord:
    """A build finishing now, recorded as the build step records one (published, unless not)."""
    now = datetime.now().isoformat()
    record = BuildRecord(
        new_build_id(),
        now,
        now,
        dbt_success=True,
        gate_success=published,
        is_published=published,
        **fields,
    )
    return record_build(settings, record)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(settings: Settings, *args: str, timeout: float = 600, check: bool = True) -> CliResult:
    """Run `skillstream ARGS` in a child process with these settings, as a user would."""
    completed = subprocess.run(
        [sys.executable, "-m", "skillstream.cli", *args],
        env={**os.environ, **settings.as_env()},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result = CliResult(completed.returncode, completed.stdout, completed.stderr)
    if check and completed.returncode != 0:
        raise AssertionError(
            f"skillstream {' '.join(args)} exited {completed.returncode}\n"
            f"stdout:\n{completed.stdout}\nstderr:\n{completed.stderr[-4000:]}"
        )
    return result


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A real single-node broker on its own port and home, for the whole session."""
    root = tmp_path_factory.mktemp("broker")
    port = broker_module.free_port()
    broker_settings = make_settings(root, bootstrap=f"localhost:{port}")
    broker_module.fetch(broker_settings)
    broker_module.up(broker_settings)
    try:
        yield broker_settings
    finally:
        broker_module.down(broker_settings)


@pytest.fixture
def pipeline_settings(kafka_broker: Settings, tmp_path: Path) -> Settings:
    """Settings of one test on the shared broker: topics and warehouse of its own."""
    from skillstream import kafka

    suffix = uuid.uuid4().hex[:8]
    settings = make_settings(
        tmp_path,
        bootstrap=kafka_broker.bootstrap,
        statements_topic=f"xapi.statements.{suffix}",
        dlq_topic=f"xapi.dlq.{suffix}",
    )
    kafka.ensure_topics(settings)
    return settings


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    return run_cli


TOOLS_VENV = REPO / ".venv-tools"


@pytest.fixture(scope="session")
def tools_bin() -> Path:
    """The bin/ of the test tools' venv (TinCanPython, Ralph), made by `make tools` if missing."""
    if not (TOOLS_VENV / ".installed").exists():
        subprocess.run(["make", "-s", "tools"], cwd=REPO, check=True, timeout=600)
    return TOOLS_VENV / "bin"
