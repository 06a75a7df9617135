"""`skillstream run`: the live pipeline of one machine, started and supervised by one command.

The broker (this home's local one, unless the bootstrap address is a cluster this home did
not start), the xAPI endpoint, `transform --follow`, a build loop and the dashboard. Every
child is `python -m skillstream.cli ...` in a process group of its own, so stopping it stops
what it started (Streamlit under `dashboard`, dbt under `build`) and nothing else. A child
that dies is restarted with exponential backoff while the others go on. One `run` per home:
an fcntl lock on SKILLSTREAM_HOME/run/run.lock, which holds the pid of the run holding it.

What the run is doing is written to SKILLSTREAM_HOME/run/state.json for `skillstream status`;
each child's output goes to SKILLSTREAM_HOME/run/logs/<child>.log.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from skillstream.settings import Settings

log = logging.getLogger("skillstream.run")

# A child that died is started again after 1 s, then 2, 4, ... up to a minute; a child that
# stayed up for a minute starts from 1 s again.
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
HEALTHY_AFTER_SECONDS = 60.0
# SIGTERM, then SIGKILL to a child's process group that has not ended after this long; the
# transform commits the batch in flight first.
STOP_TIMEOUT_SECONDS = 30.0
TICK_SECONDS = 0.2
BUSY_RETRY_SECONDS = 2.0
# While nothing new has landed, the build loop looks again this often, so what lands after a
# quiet spell is built at once; builds themselves start at most once a round.
IDLE_CHECK_SECONDS = 2.0


class RunRefused(RuntimeError):
    """Another `skillstream run` holds this home."""


@dataclass(frozen=True)
class RunOptions:
    serve_port: int = 8080
    dashboard_port: int = 8501
    build_every: float = 30.0
    serve: bool = True
    dashboard: bool = True


def run_dir(settings: Settings) -> Path:
    return settings.home / "run"


def state_file(settings: Settings) -> Path:
    return run_dir(settings) / "state.json"


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "skillstream.cli", *args]


# ---- one run per home ----------------------------------------------------------------------


@contextlib.contextmanager
def home_lock(settings: Settings) -> Iterator[None]:
    """Hold this home for one run; RunRefused when another run holds it."""
    path = run_dir(settings) / "run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunRefused(
                f"skillstream run is already running on {settings.home} (pid {holder}); "
                f"stop it first (Ctrl-C in its terminal, or kill -TERM {holder})"
            ) from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def running_pid(settings: Settings) -> int | None:
    """The pid of the run holding this home, or None when no run holds it."""
    path = run_dir(settings) / "run.lock"
    if not path.exists():
        return None
    with path.open("r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


# ---- children ----------------------------------------------------------------------------


@dataclass
class Child:
    """One supervised process and its restart schedule."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float | None = None
    last_exit: int | None = None

    def start(self) -> None:
        if self.process is not None:  # a leftover of the previous one that ignored SIGTERM
            _signal_group(self.process.pid, signal.SIGKILL)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as output:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with what it started
                preexec_fn=die_with_parent,
            )
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        """The exit code when the process has ended since it was started, else None."""
        if self.process is None or self.restart_at is not None:
            return None
        return self.process.poll()

    def schedule_restart(self, code: int) -> float:
        """After an exit: when to start again (the delay), doubling while it keeps dying."""
        if time.monotonic() - self.started_at >= HEALTHY_AFTER_SECONDS:
            self.backoff = FIRST_BACKOFF_SECONDS
        delay = self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF_SECONDS)
        self.last_exit = code
        self.restart_at = time.monotonic() + delay
        # What it started may outlive it (Streamlit under a killed `dashboard`) and hold its
        # port: its process group goes with it.
        if self.process is not None:
            _signal_group(self.process.pid, signal.SIGTERM)
        return delay

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, self.name)

    def describe(self) -> dict[str, Any]:
        alive = self.process is not None and self.process.poll() is None
        return {
            "up": alive,
            "pid": self.pid if alive else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "log": str(self.log_path),
        }


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child before it runs: SIGTERM to it when the run ends, even by SIGKILL, so no
    child outlives its run to hold a port or the warehouse (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def stop_group(process: subprocess.Popen[bytes], name: str) -> None:
    """SIGTERM to the process group, SIGKILL after STOP_TIMEOUT_SECONDS; the group's last
    members (a grandchild the child left behind) are killed too."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0f s; killing it", name, STOP_TIMEOUT_SECONDS)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def children(settings: Settings, options: RunOptions, env: dict[str, str]) -> list[Child]:
    logs = run_dir(settings) / "logs"
    wanted = [("transform", cli_command("transform", "--follow", "-q"))]
    if options.serve:
        port = str(options.serve_port)
        wanted.append(("serve", cli_command("serve", "--port", port, "--log-level", "warning")))
    if options.dashboard:
        wanted.append(
            ("dashboard", cli_command("dashboard", "--port", str(options.dashboard_port)))
        )
    return [Child(name, command, env, logs / f"{name}.log") for name, command in wanted]


# ---- the build loop ------------------------------------------------------------------------


def landed_watermark(settings: Settings) -> tuple[Any, ...] | None:
    """What has landed, cheaply: offsets landed, row counts of raw.statements and the imports,
    the imports' newest time. None when the warehouse cannot be read now (a writer holds it)
    or has no raw tables yet."""
    import duckdb

    from skillstream import warehouse

    if not settings.warehouse.exists():
        return None
    try:
        con = warehouse.connect(settings, read_only=True, wait_seconds=2)
    except warehouse.WarehouseBusy:
        return None
    try:
        (row,) = con.execute(
            "SELECT (SELECT coalesce(sum(next_offset), 0) FROM raw.ingest_offsets),"
            " (SELECT count(*) FROM raw.statements),"
            " (SELECT count(*) FROM raw.forgotten_learners),"
            " (SELECT count(*) || '@' || coalesce(max(imported_at)::VARCHAR, '') FROM raw.roster),"
            " (SELECT count(*) || '@' || coalesce(max(imported_at)::VARCHAR, '')"
            "  FROM raw.kpi_observations)"
        ).fetchall()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    return tuple(row)


def _newest_build_id(settings: Settings) -> str | None:
    from skillstream.quality.publish import read_status

    _, latest = read_status(settings)
    return latest["build_id"] if latest is not None else None


# The watermark of a warehouse with nothing landed or imported.
NOTHING_LANDED = (0, 0, 0, "0@", "0@")


@dataclass
class BuildLoop:
    """A build (`skillstream build`) when something landed since the watermark of the last
    build, at most one start every `every` seconds; nothing while nothing new landed."""

    settings: Settings
    every: float
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    next_round: float = 0.0
    building: tuple[Any, ...] | None = None
    built: tuple[Any, ...] | None = NOTHING_LANDED  # the first build waits for something
    last: dict[str, Any] = field(default_factory=dict)
    newest_before: str | None = None  # the newest build when this one started

    def tick(self) -> bool:
        """Advance the loop; True when a build started or ended (the state changed)."""
        if self.process is not None:
            code = self.process.poll()
            if code is None:
                return False
            self._finished(code)
            return True
        if time.monotonic() < self.next_round:
            return False
        watermark = landed_watermark(self.settings)
        if watermark is None:  # the warehouse is busy or empty: look again soon
            self.next_round = time.monotonic() + min(self.every, BUSY_RETRY_SECONDS)
            return False
        if watermark == self.built:  # nothing new since the last build: no build now
            self.next_round = time.monotonic() + min(self.every, IDLE_CHECK_SECONDS)
            return False
        self.building = watermark
        self.newest_before = _newest_build_id(self.settings)
        self.next_round = time.monotonic() + self.every
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as output:
            self.process = subprocess.Popen(
                cli_command("build", "-q", "--no-unit-tests"),
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        return True

    def _finished(self, code: int) -> None:
        from skillstream.quality.publish import read_status

        self.process = None
        _, latest = read_status(self.settings)
        if code in (0, 2) and latest is not None and not _tool_failed(latest):
            self.built = self.building  # held back too: the same input would be held again
            self.last = _build_summary(latest)
            if latest["build_id"] == self.newest_before:  # `build` found nothing new to model
                log.info("nothing new to model: build %s stays published", latest["build_id"])
            elif latest["is_published"]:
                copied = latest.get("publishing") or {}
                log.info(
                    "build %s published (newest statement %s; marts written %s, %s shared)",
                    latest["build_id"],
                    latest.get("newest_event_at") or "none",
                    ", ".join(copied.get("tables_written", [])) or "none",
                    copied.get("tables_shared", 0),
                )
            else:
                log.warning("build %s held back: %s", latest["build_id"], self.last["why"])
            return
        self.last = {"failed_at": _now(), "exit_code": code, "log": str(self.log_path)}
        why = f": {_build_summary(latest)['why']}" if code == 2 and latest else ""
        log.warning(
            "build failed (exit code %s%s); see %s; retrying next round", code, why, self.log_path
        )

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process, "build")


# Failures that say a tool did not run to the end, not that a check failed: the same input
# may pass next round.
TOOL_FAILURES = ("dbt", "gx:checkpoint:run")


def _tool_failed(record: dict[str, Any]) -> bool:
    return any(f["check"] in TOOL_FAILURES for f in record.get("failures", []))


def _build_summary(record: dict[str, Any]) -> dict[str, Any]:
    why = "; ".join(f"{f['check']}: {f['detail']}" for f in record.get("failures", [])[:3])
    return {
        "build_id": record["build_id"],
        "finished_at": record["finished_at"],
        "published": record["is_published"],
        "why": why or None,
    }


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


# ---- the supervisor ----------------------------------------------------------------------


@dataclass
class LocalBroker:
    """This home's broker when the run started it (then it is supervised and stopped at the
    end); a cluster that was already there is only used."""

    settings: Settings
    owned: bool = False
    restarts: int = 0
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float | None = None

    def start(self) -> str:
        from skillstream import broker

        was_running = broker.running(self.settings) is not None
        process = broker.up(self.settings)
        self.owned = process is not None and not was_running
        if process is None:
            return f"using the Kafka cluster at {self.settings.bootstrap}"
        how = "started" if self.owned else "already running (left running at the end)"
        return f"broker {how}: {self.settings.bootstrap} (pid {process.pid})"

    def check(self) -> None:
        """Start the owned broker again when it died (with backoff); BrokerError is logged."""
        from skillstream import broker

        if not self.owned or broker.running(self.settings) is not None:
            return
        now = time.monotonic()
        if self.restart_at is None:
            log.warning("broker exited; restarting in %.0f s", self.backoff)
            self.restart_at = now + self.backoff
            self.backoff = min(self.backoff * 2, MAX_BACKOFF_SECONDS)
            return
        if now < self.restart_at:
            return
        self.restart_at = None
        try:
            broker.up(self.settings)
        except broker.BrokerError as error:
            log.warning("broker restart failed: %s", error)
            return
        self.restarts += 1
        log.info("broker restarted (restart %d)", self.restarts)

    def stop(self) -> None:
        from skillstream import broker

        if self.owned and broker.down(self.settings):
            log.info("broker stopped")

    def describe(self) -> dict[str, Any]:
        from skillstream import broker

        process = broker.running(self.settings)
        return {
            "owned": self.owned,
            "pid": process.pid if process else None,
            "restarts": self.restarts,
            "bootstrap": self.settings.bootstrap,
        }


class Supervisor:
    def __init__(self, settings: Settings, options: RunOptions, env: dict[str, str]) -> None:
        self.settings = settings
        self.options = options
        self.broker = LocalBroker(settings)
        self.children = children(settings, options, env)
        # The first round comes one round after the start: the transform catches up first.
        self.builds = BuildLoop(
            settings,
            options.build_every,
            env,
            run_dir(settings) / "logs" / "build.log",
            next_round=time.monotonic() + options.build_every,
        )
        self.started_at = _now()
        self.stopping = False

    def request_stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        log.info(self.broker.start())
        for child in self.children:
            child.start()
            log.info("%s started (pid %s)", child.name, child.pid)
        self.write_state()
        while not self.stopping:
            changed = any([self._supervise(child) for child in self.children])
            self.broker.check()
            if self.builds.tick() or changed:
                self.write_state()
            time.sleep(TICK_SECONDS)

    def _supervise(self, child: Child) -> bool:
        """Restart a child that died, after its backoff; True when its state changed."""
        code = child.exited()
        if code is not None:
            delay = child.schedule_restart(code)
            log.warning("%s exited with code %s; restarting in %.0f s", child.name, code, delay)
            return True
        if child.restart_at is not None and time.monotonic() >= child.restart_at:
            child.start()
            child.restarts += 1
            log.info("%s restarted (pid %s, restart %d)", child.name, child.pid, child.restarts)
            return True
        return False

    def stop(self) -> None:
        """Stop every child this run started, then the broker if the run started it."""
        self.builds.stop()
        for child in reversed(self.children):
            child.stop()
            log.info("%s stopped", child.name)
        self.broker.stop()

    def write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "options": asdict(self.options),
            "broker": self.broker.describe(),
            "components": {child.name: child.describe() for child in self.children},
            "last_build": self.builds.last or None,
        }
        path = state_file(self.settings)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        os.replace(temporary, path)


def supervise(settings: Settings, options: RunOptions, env: dict[str, str]) -> None:
    """Run the live pipeline until SIGTERM or SIGINT; then stop all it started."""
    with home_lock(settings):
        supervisor = Supervisor(settings, options, env)
        previous = {
            signum: signal.signal(signum, supervisor.request_stop)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            supervisor.run()
        finally:
            log.info("stopping")
            supervisor.stop()
            state_file(settings).unlink(missing_ok=True)
            for signum, handler in previous.items():
                signal.signal(signum, handler)


# ---- status ------------------------------------------------------------------------------


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def components(settings: Settings) -> dict[str, Any]:
    """The run holding this home and each component it supervises: up or down, pid, restarts."""
    pid = running_pid(settings)
    path = state_file(settings)
    state = json.loads(path.read_text()) if pid and path.exists() else {}
    parts = {
        name: {**part, "up": _alive(part.get("pid"))}
        for name, part in state.get("components", {}).items()
    }
    return {"pid": pid, "started_at": state.get("started_at"), "components": parts}


def last_accepted(settings: Settings) -> str | None:
    """When Kafka took the newest record of the statements topic (UTC), from any source."""
    from kafka import TopicPartition

    from skillstream import kafka

    client = kafka.consumer(settings)
    try:
        ends = kafka.offsets(settings, settings.statements_topic, client)
        newest: int | None = None
        for partition, (beginning, end) in ends.items():
            if end <= beginning:
                continue
            tp = TopicPartition(settings.statements_topic, partition)
            client.assign([tp])
            client.seek(tp, end - 1)
            for records in client.poll(timeout_ms=2000, max_records=1).values():
                for record in records:
                    newest = max(newest or 0, record.timestamp)
    finally:
        client.close()
    return _utc(newest / 1000) if newest is not None else None


def _utc(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds")


def landed(settings: Settings) -> dict[str, Any]:
    """The newest landing and the next offset per partition, or {"error": why}."""
    import duckdb

    from skillstream import warehouse

    if not settings.warehouse.exists():
        return {"error": f"no warehouse at {settings.warehouse} yet"}
    try:
        con = warehouse.connect(settings, read_only=True, wait_seconds=5)
    except warehouse.WarehouseBusy as error:
        return {"error": str(error)}
    try:
        (row,) = con.execute(
            "SELECT count(*), max(landed_at)::VARCHAR, max(occurred_at)::VARCHAR "
            "FROM raw.statements"
        ).fetchall()
        offsets = con.execute(
            "SELECT kafka_partition, next_offset FROM raw.ingest_offsets WHERE topic = ?",
            [settings.statements_topic],
        ).fetchall()
    except duckdb.CatalogException:
        return {"error": "nothing has landed yet"}
    finally:
        con.close()
    return {
        "statements": row[0],
        "last_landed_at": row[1],
        "newest_event_at": row[2],
        "next_offsets": {str(p): o for p, o in offsets},
    }


def lag(ends: dict[str, dict[str, int]], next_offsets: dict[str, int]) -> dict[str, int]:
    """Per partition: records on Kafka the transform has not landed yet."""
    return {p: max(0, o["end"] - next_offsets.get(p, o["beginning"])) for p, o in ends.items()}


def builds(settings: Settings) -> dict[str, Any]:
    """The newest build (published or held back, and why) and the published one with its
    freshness: the event time of the newest statement it includes."""
    from skillstream.quality.publish import read_status

    current, latest = read_status(settings)
    return {
        "last_build": _build_summary(latest) if latest else None,
        "published": None
        if current is None
        else {
            "build_id": current["build_id"],
            "finished_at": current["finished_at"],
            "newest_event_at": current.get("newest_event_at"),
            "newest_stored_at": current.get("newest_stored_at"),
            "publishing": current.get("publishing"),
        },
    }


def freshness_line(settings: Settings | None = None) -> str:
    """One line on the published build's freshness, for every dashboard page."""
    from skillstream import settings as settings_module

    published = builds(settings or settings_module.load())["published"]
    if published is None:
        return "No build has been published yet."
    built = _minute_second(published["finished_at"])
    if published["newest_event_at"] is None:
        return f"Published build {published['build_id']} (built {built} UTC)."
    return (
        f"Data up to {_minute_second(published['newest_event_at'])} UTC (newest statement) · "
        f"published {built} UTC, build {published['build_id']}."
    )


def _minute_second(timestamp: str) -> str:
    """An ISO timestamp to the second, with a space: 2026-12-07 09:59:58."""
    return timestamp[:19].replace("T", " ")


def stages(settings: Settings) -> list[dict[str, Any]]:
    """Each stage's freshness, from intake to what readers see: when it last moved and the
    event time of the newest statement it holds (the Pipeline health page)."""
    from skillstream import broker, kafka

    accepted = None
    if broker.port_open(*settings.bootstrap_host_port):  # else the client waits 10 s to fail
        with contextlib.suppress(kafka.KafkaUnavailable):
            accepted = last_accepted(settings)
    landing = landed(settings)
    built = builds(settings)
    last, published = built["last_build"] or {}, built["published"] or {}
    verdict = "published" if last.get("published") else f"held back: {last.get('why')}"
    rows: list[dict[str, Any]] = [
        {"stage": "accepted (Kafka)", "last moved": accepted, "newest statement": None},
        {
            "stage": "landed (warehouse)",
            "last moved": landing.get("last_landed_at"),
            "newest statement": landing.get("newest_event_at"),
            "note": landing.get("error"),
        },
        {
            "stage": "built (newest build)",
            "last moved": last.get("finished_at"),
            "note": verdict if last else None,
        },
        {
            "stage": "published (shown)",
            "last moved": published.get("finished_at"),
            "newest statement": published.get("newest_event_at"),
        },
    ]
    for row in rows:
        for column in ("last moved", "newest statement"):
            row[column] = row.get(column) and _minute_second(row[column])
    return rows
