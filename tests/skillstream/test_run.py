"""`skillstream run` as a user runs it: real processes, its own broker, real builds; and the
build loop's decision and the freshness line on a real warehouse.

The integration tests share one run (starting the broker, the endpoint, the transform and the
dashboard costs ~30 s); the last test stops it with SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from skillstream import broker, warehouse
from skillstream import run as live
from skillstream.quality.publish import BuildRecord, connect_snapshot, record_build
from skillstream.settings import Settings
from tests.conftest import make_settings, record_a_build, run_cli

CREDENTIALS = "lms:live-key:live-secret"
AUTH = ("live-key", "live-secret")
HEADERS = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}


@dataclass
class LiveRun:
    settings: Settings
    process: subprocess.Popen[str]
    serve_port: int
    dashboard_port: int
    log: Path
    live_event_at: datetime

    def state(self) -> dict[str, Any]:
        return json.loads(live.state_file(self.settings).read_text())

    def log_text(self) -> str:
        return self.log.read_text()


def wait_for(what: str, check: Callable[[], Any], timeout: float, run: LiveRun) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (OSError, ValueError, KeyError, duckdb.Error):
            value = None
        if value:
            return value
        assert run.process.poll() is None, f"run exited {run.process.returncode}:\n{run.log_text()}"
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; run's log:\n{run.log_text()}")


def processes_of(home: Path) -> list[int]:
    """Every process whose environment names this home (the run, its children, theirs)."""
    marker = f"SKILLSTREAM_HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def post_statements(run: LiveRun, statements: list[dict[str, Any]]) -> None:
    response = requests.post(
        f"http://localhost:{run.serve_port}/xapi/statements",
        json=statements,
        auth=AUTH,
        headers=HEADERS,
        timeout=60,
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    """A run on its own broker, fed a small simulated organisation and one live statement
    through its endpoint before its first build round (15 s after it started)."""
    from skillstream.ingestion.kpis import source as kpis
    from skillstream.ingestion.roster import source as roster

    root = tmp_path_factory.mktemp("live")
    settings = make_settings(
        root, bootstrap=f"localhost:{broker.free_port()}", lrs_credentials=CREDENTIALS
    )
    broker.fetch(settings)
    run_cli(
        settings, "simulate", "--learners", "60", "--days", "30", "--out", str(root / "s.ndjson")
    )
    roster.load(settings, path=root / "roster.csv")
    kpis.load(settings, path=root / "kpis.csv")
    serve_port, dashboard_port = broker.free_port(), broker.free_port()
    log = root / "run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                *live.cli_command("run"),
                *("--serve-port", str(serve_port), "--dashboard-port", str(dashboard_port)),
                *("--build-every", "15"),
            ],
            env={**os.environ, **settings.as_env()},
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    live_run = LiveRun(settings, process, serve_port, dashboard_port, log, LIVE_EVENT_AT)
    try:
        wait_for("the endpoint", lambda: broker.port_open("localhost", serve_port), 120, live_run)
        simulated = [json.loads(line) for line in (root / "s.ndjson").read_text().splitlines()]
        post_statements(live_run, [*simulated, live_statement(LIVE_EVENT_AT)])
        yield live_run
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=120)
        broker.down(settings)


def test_the_watermark_moves_with_what_lands_and_is_imported(settings: Settings) -> None:
    assert live.landed_watermark(settings) is None  # no warehouse yet
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    con.close()
    assert live.landed_watermark(settings) == live.NOTHING_LANDED
    marks: list[tuple[Any, ...] | None] = [live.NOTHING_LANDED]
    for change in (
        "INSERT INTO raw.ingest_offsets VALUES ('xapi.statements', 0, 3, now())",
        "INSERT INTO raw.roster (learner_id, cohort, imported_at) VALUES ('a', 'pilot', now())",
        "UPDATE raw.roster SET cohort = 'control', imported_at = now() + INTERVAL 1 SECOND",
        "INSERT INTO raw.forgotten_learners VALUES ('b', now())",
    ):
        con = warehouse.connect(settings)
        con.execute(change)
        con.close()
        marks.append(live.landed_watermark(settings))
        assert marks[-1] != marks[-2], change
    assert live.landed_watermark(settings) == marks[-1]


def test_a_round_with_nothing_new_starts_no_build(settings: Settings) -> None:
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    con.execute("INSERT INTO raw.ingest_offsets VALUES ('xapi.statements', 0, 3, now())")
    con.close()
    loop = live.BuildLoop(
        settings, 30.0, settings.child_env(), settings.home / "build.log", next_round=0.0
    )
    loop.built = live.landed_watermark(settings)
    assert loop.tick() is False and loop.process is None
    # while nothing is new, the loop looks again soon: what lands next is built at once
    assert loop.next_round - time.monotonic() <= live.IDLE_CHECK_SECONDS
    con = warehouse.connect(settings)
    con.execute("UPDATE raw.ingest_offsets SET next_offset = 4")
    con.close()
    loop.next_round = 0.0
    try:
        assert loop.tick() is True and loop.process is not None
        assert loop.process.args[-3:] == ["build", "-q", "--no-unit-tests"]
    finally:
        loop.stop()


def test_a_build_that_found_nothing_new_is_not_announced_as_published(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """`build` exits 0 without a new build when nothing is new to model: the loop says so
    rather than announcing the published build again."""
    loop = live.BuildLoop(settings, 30.0, settings.child_env(), settings.home / "build.log")
    old = record_a_build(settings)
    loop.newest_before = old.build_id
    with caplog.at_level("INFO", logger=live.log.name):
        loop._finished(0)
        assert f"nothing new to model: build {old.build_id} stays published" in caplog.text
        new = record_a_build(settings)
        loop._finished(0)
    assert f"build {new.build_id} published" in caplog.text


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for a parent to collect it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_a_child_ends_with_its_run_even_when_the_run_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from skillstream.run import Child\n"
            "child = Child('sleeper', [sys.executable, '-c', 'import time; time.sleep(120)'],"
            f" {{}}, Path({str(tmp_path / 'sleeper.log')!r}))\n"
            "child.start()\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert running(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while running(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(child)


def test_the_freshness_shown_names_the_published_builds_newest_statement(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, bootstrap=f"localhost:{broker.free_port()}")  # no broker
    assert live.freshness_line(settings) == "No build has been published yet."
    record = BuildRecord(
        build_id="build-20261207T100000000000Z",
        started_at="2026-12-07T10:00:00",
        finished_at="2026-12-07T10:00:20.5",
        dbt_success=True,
        gate_success=True,
        is_published=True,
        newest_event_at="2026-12-07 09:59:58.123",
        newest_stored_at="2026-12-07 09:59:58.456",
    )
    record_build(settings, record)
    assert live.freshness_line(settings) == (
        "Data up to 2026-12-07 09:59:58 UTC (newest statement) · published "
        "2026-12-07 10:00:20 UTC, build build-20261207T100000000000Z."
    )
    by_stage = {row["stage"]: row for row in live.stages(settings)}  # the Pipeline health page
    assert by_stage["published (shown)"]["newest statement"] == "2026-12-07 09:59:58"
    assert by_stage["built (newest build)"]["note"] == "published"
    assert by_stage["accepted (Kafka)"]["last moved"] is None  # no broker answers


# An event time no other statement has: the published build's freshness names it.
LIVE_EVENT_AT = datetime.now(UTC).replace(tzinfo=None, microsecond=123000) - timedelta(seconds=1)


def live_statement(occurred: datetime) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:ada@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "https://lms.example/course/live"},
        "timestamp": occurred.isoformat(timespec="milliseconds") + "Z",
    }


@pytest.mark.integration
def test_a_posted_statement_reaches_the_published_build(run: LiveRun) -> None:
    def published_freshness() -> bool:
        current = json.loads((run.settings.published_dir / "current.json").read_text())
        with connect_snapshot(current["snapshot"]) as snapshot:
            newest = snapshot.execute("SELECT newest_event_at FROM meta.build").fetchall()
        return newest == [(run.live_event_at,)]

    wait_for("a published build holding the statement", published_freshness, 170, run)
    wait_for("the log line", lambda: " published (newest statement" in run.log_text(), 10, run)
    status = json.loads(run_cli(run.settings, "status", "--json").stdout)
    assert datetime.fromisoformat(status["published"]["newest_event_at"]) == run.live_event_at
    assert set(status["lag"].values()) == {0}
    assert status["last_accepted_at"] is not None


@pytest.mark.integration
def test_a_second_run_on_the_same_home_refuses(run: LiveRun) -> None:
    second = run_cli(run.settings, "run", "--no-serve", "--no-dashboard", check=False, timeout=60)
    assert second.returncode == 1
    assert f"already running on {run.settings.home} (pid {run.process.pid})" in second.stderr
    assert run.state()["pid"] == run.process.pid


@pytest.mark.integration
def test_a_killed_child_is_restarted_and_the_others_go_on(run: LiveRun) -> None:
    before = run.state()["components"]
    os.kill(before["transform"]["pid"], signal.SIGKILL)

    def restarted() -> dict[str, Any] | None:
        transform = run.state()["components"]["transform"]
        return transform if transform["restarts"] == 1 and transform["up"] else None

    transform = wait_for("the transform to be restarted", restarted, 60, run)
    assert transform["pid"] != before["transform"]["pid"]
    assert transform["last_exit"] == -signal.SIGKILL
    after = run.state()["components"]
    assert after["serve"]["pid"] == before["serve"]["pid"]
    assert after["dashboard"]["pid"] == before["dashboard"]["pid"]
    assert "transform exited with code -9; restarting in 1 s" in run.log_text()
    status = json.loads(run_cli(run.settings, "status", "--json").stdout)
    assert status["run"]["components"]["transform"]["up"] is True
    assert status["run"]["components"]["transform"]["pid"] == transform["pid"]


@pytest.mark.integration
def test_sigterm_leaves_nothing_running(run: LiveRun) -> None:
    """Last in the module: it stops the module's run."""
    state = run.state()
    assert state["broker"]["owned"] is True
    assert len(processes_of(run.settings.home)) > 4  # run, broker, 3 children, Streamlit
    run.process.send_signal(signal.SIGTERM)
    assert run.process.wait(timeout=120) == 0
    assert processes_of(run.settings.home) == []
    assert broker.running(run.settings) is None
    assert not broker.port_open("localhost", run.dashboard_port)
    assert not live.state_file(run.settings).exists()
    assert live.running_pid(run.settings) is None
    status = json.loads(run_cli(run.settings, "status", "--json", check=False).stdout)
    assert status["run"]["pid"] is None
    assert status["reachable"] is False
