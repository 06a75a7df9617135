"""docs/add-a-source.md is true: its source, installed from a temporary package, runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from skillstream.settings import Settings
from tests.conftest import REPO
from tests.ingestion.test_ingest_file import read_topic

pytestmark = pytest.mark.integration

PAGE = REPO / "docs" / "add-a-source.md"


def files_of_the_page() -> dict[str, str]:
    blocks = re.findall(r"<!-- file: (\S+) -->\n```\w+\n(.*?)```", PAGE.read_text(), re.S)
    return dict(blocks)


def test_the_page_shows_a_whole_source_in_under_50_lines() -> None:
    files = files_of_the_page()
    assert set(files) == {"skillstream_quizcsv.py", "pyproject.toml"}
    assert len(files["skillstream_quizcsv.py"].splitlines()) < 50


def test_install_the_documented_source_and_run_it(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    package = tmp_path / "skillstream-quizcsv"
    package.mkdir()
    for name, text in files_of_the_page().items():
        (package / name).write_text(text)
    site = tmp_path / "site"
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(package)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {**os.environ, **pipeline_settings.as_env(), "PYTHONPATH": str(site)}

    def skillstream(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "skillstream.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    assert "quizcsv" in skillstream("ingest", "--help").stdout
    results = tmp_path / "results.csv"
    results.write_text(
        "email,quiz,score,finished_at\n"
        "ada@example.com,sql-1,0.9,2026-03-02T09:00:00Z\n"
        "bo@example.com,sql-1,lots,2026-03-02T09:05:00Z\n"
        "cy@example.com,sql-2,0.7,2026-03-02T09:10:00Z\n"
    )
    first = skillstream("ingest", "quizcsv", str(results), "-q")
    assert first.returncode == 2, first.stderr  # one row dead-lettered
    assert orjson.loads(first.stdout)["statements"] == 2
    assert f"dead-lettered {results}:3: row 2" in first.stderr
    records = read_topic(pipeline_settings, pipeline_settings.statements_topic)
    assert sorted(orjson.loads(r.value)["object"]["id"][-5:] for r in records) == ["sql-1", "sql-2"]
    assert {dict(r.headers)["source"] for r in records} == {b"quizcsv"}
    again = skillstream("ingest", "quizcsv", str(results), "-q")
    assert orjson.loads(again.stdout)["statements"] == 0  # resumed from the cursor
    with results.open("a") as handle:
        handle.write("dee@example.com,sql-3,0.8,2026-03-02T09:20:00Z\n")
    assert (
        orjson.loads(skillstream("ingest", "quizcsv", str(results), "-q").stdout)["statements"] == 1
    )
