"""ADL's LRS conformance suite (vendored in suite/, see README.md) against `skillstream
serve` on the real broker, for xAPI 1.0.3 and 2.0.0, on the groups of the write path.

Every test of those groups passes, except the ones README.md lists by name: they read
statements back (GET), which this endpoint, an analytics sink, does not serve. The list is
checked both ways: a listed test that passes, or is gone, fails this test too."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from skillstream.settings import Settings
from tests.ingestion.conftest import start_server, stop_server

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
SUITE = HERE / "suite"
# The write-path groups, by the numbers in their titles (the suite's -g is a JS RegExp
# matched against each test's full title).
WRITE_PATH_GROUPS = (
    r"Data 2\.[236]\)|Data 2\.4\.[0-9]+\)|Data 4\.0\)|\(4\.2\.7\)"
    r"|Communication 1\.[2-5]\)|Communication 2\.8\)|Communication 3\.[23]\)"
    r"|Communication 4\.0\)"
)
VERSIONS = {"1.0.3": "xAPI 1.0.3", "2.0.0": "xAPI 2.0.0"}


def cannot_run(version: str) -> set[str]:
    """The tests README.md lists under `### <heading of version>`: `- \\`full name\\``."""
    text = (HERE / "README.md").read_text()
    section = text.split(f"### {VERSIONS[version]}\n", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"^- `(.+)`", section, flags=re.MULTILINE))


def outcomes(log: dict[str, Any]) -> dict[str, str]:
    """Each test of a run log by full name (titles joined by ' › ') -> passed/failed."""
    found: dict[str, str] = {}

    def walk(node: dict[str, Any], path: list[str]) -> None:
        here = [*path, node["title"]] if node.get("title") else path
        if node.get("tests"):
            for child in node["tests"]:
                walk(child, here)
        elif "status" in node and here:
            found[" › ".join(here)] = node["status"]

    walk(log["log"], [])
    return found


@pytest.fixture(scope="module")
def node() -> str:
    executable = shutil.which("node")
    if executable is None:
        pytest.skip("node is not installed: the LRS conformance suite cannot run")
    if not (SUITE / "node_modules" / ".installed").exists():
        pytest.skip("the suite's node modules are missing: run `make lrs-suite`")
    return executable


@pytest.fixture
def endpoint(
    pipeline_settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    # Without X-Experience-API-Version a request is answered in the version the endpoint
    # is set to assume; each version's suite expects its own.
    server = start_server(
        pipeline_settings, tmp_path / "serve.log", lrs_default_xapi_version=request.param
    )
    try:
        yield server.url.rstrip("/")
    finally:
        stop_server(server)


@pytest.mark.parametrize("endpoint", list(VERSIONS), indirect=True)
def test_the_write_path_groups_pass(
    node: str, endpoint: str, request: pytest.FixtureRequest
) -> None:
    version = request.node.callspec.params["endpoint"]
    run = subprocess.run(
        [
            node,
            "bin/console_runner.js",
            "-e",
            endpoint,
            "-a",
            "-u",
            "lms-key",
            "-p",
            "s3cret",
            "-x",
            version,
            "-g",
            WRITE_PATH_GROUPS,
        ],
        cwd=SUITE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    written = re.search(r"Full run log written to (.+\.log)", run.stdout)
    assert written, run.stdout[-3000:] + run.stderr[-3000:]
    log_path = Path(written.group(1))
    results = outcomes(orjson.loads(log_path.read_bytes()))
    log_path.unlink()
    expected_failures = cannot_run(version)
    failed = {name for name, status in results.items() if status != "passed"}
    assert len(results) > 1000, "the groups ran too few tests"
    assert sorted(failed - expected_failures) == [], "tests of the write path failed"
    assert sorted(expected_failures - failed) == [], "listed as GET-dependent, yet passed or gone"
