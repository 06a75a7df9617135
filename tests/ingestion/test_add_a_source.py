"""docs/add-a-source.md is true: its source, installed from a temporary package, runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
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
    lines = len(files["skillstream_quizcsv.py"].splitlines())
    assert lines < 50
    assert f"`skillstream_quizcsv.py` ({lines} lines" in PAGE.read_text()  # the page says so


@dataclass
class Installed:
    """The page's source installed in a directory of its own; `skillstream` runs the CLI
    with it on the path."""

    site: Path
    env: dict[str, str]

    def skillstream(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "skillstream.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def install_the_page(settings: Settings, tmp_path: Path) -> Installed:
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
    return Installed(site, {**os.environ, **settings.as_env(), "PYTHONPATH": str(site)})


HEADER = "email,quiz,score,finished_at\n"


def quizzes_of(settings: Settings) -> list[str]:
    records = read_topic(settings, settings.statements_topic)
    assert {dict(r.headers)["source"] for r in records} <= {b"quizcsv"}
    return sorted(orjson.loads(r.value)["object"]["id"].rsplit("/", 1)[1] for r in records)


def test_install_the_documented_source_and_run_it(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    installed = install_the_page(pipeline_settings, tmp_path)
    skillstream = installed.skillstream
    assert "quizcsv" in skillstream("ingest", "--help").stdout
    results = tmp_path / "results.csv"
    results.write_text(
        HEADER + "ada@example.com,sql-1,0.9,2026-03-02T09:00:00Z\n"
        "bo@example.com,sql-1,lots,2026-03-02T09:05:00Z\n"
        ",sql-2,0.7,2026-03-02T09:10:00Z\n"
        "cy@example.com,sql-2,0.7,2026-03-02T09:10:00Z\n"
    )
    first = skillstream("ingest", "quizcsv", str(results), "-q")
    assert first.returncode == 2, first.stderr  # some rows dead-lettered
    assert orjson.loads(first.stdout) == {
        "statements": 2,
        "dead_letters": 2,
        "topic": pipeline_settings.statements_topic,
    }
    assert [line for line in first.stderr.splitlines() if "dead-lettered" in line] == [
        f"dead-lettered {results}:3: line 3: column 'score': 'lots' is not a number",
        f"dead-lettered {results}:4: line 4: column 'email': empty",
    ]
    assert quizzes_of(pipeline_settings) == ["sql-1", "sql-2"]
    again = skillstream("ingest", "quizcsv", str(results), "-q")
    assert (again.returncode, orjson.loads(again.stdout)["statements"]) == (0, 0)
    with results.open("a") as handle:  # the export grew: only the new row is read
        handle.write("dee@example.com,sql-3,0.8,2026-03-02T09:20:00Z\n")
    grown = skillstream("ingest", "quizcsv", str(results), "-q")
    assert orjson.loads(grown.stdout)["statements"] == 1
    assert quizzes_of(pipeline_settings) == ["sql-1", "sql-2", "sql-3"]


def test_an_export_written_again_with_new_rows_first_loses_nothing(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    installed = install_the_page(pipeline_settings, tmp_path)
    results = tmp_path / "results.csv"
    old = [f"ada@example.com,old-{n},0.5,2026-03-0{n}T09:00:00Z\n" for n in range(1, 4)]
    results.write_text(HEADER + "".join(old))
    first = installed.skillstream("ingest", "quizcsv", str(results), "-q")
    assert orjson.loads(first.stdout)["statements"] == 3, first.stderr
    new = [f"bo@example.com,new-{n},0.6,2026-03-0{n}T10:00:00Z\n" for n in range(4, 6)]
    results.write_text(HEADER + "".join(new + old))  # the tool's next export, newest first
    second = installed.skillstream("ingest", "quizcsv", str(results), "-q")
    assert second.returncode == 0, second.stderr
    assert set(quizzes_of(pipeline_settings)) == {"old-1", "old-2", "old-3", "new-4", "new-5"}
