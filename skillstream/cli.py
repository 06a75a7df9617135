"""The `skillstream` command line (docs/design.md §3). One click group; results a script can
parse."""

from __future__ import annotations

import functools
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import orjson

from skillstream import settings as settings_module
from skillstream.settings import Settings

EXIT_USER_ERROR = 1
EXIT_PARTIAL = 2


def _user_errors() -> tuple[type[BaseException], ...]:
    from skillstream.broker import BrokerError
    from skillstream.dashboards.report import ReportError
    from skillstream.ingestion.dlq import DeadLetterError
    from skillstream.ingestion.produce import ProduceError
    from skillstream.ingestion.simulate import PostError
    from skillstream.ingestion.sources import SourceError
    from skillstream.ingestion.sources.lrs.helpers import LrsPullError
    from skillstream.ingestion.tables import ImportFileError
    from skillstream.kafka import KafkaUnavailable
    from skillstream.pilot import PilotError
    from skillstream.transforms.lake import LakeError
    from skillstream.warehouse import WarehouseBusy

    return (
        BrokerError,
        KafkaUnavailable,
        ProduceError,
        PostError,
        SourceError,
        LrsPullError,
        ImportFileError,
        WarehouseBusy,
        LakeError,
        ReportError,
        DeadLetterError,
        PilotError,
        settings_module.SettingsError,
        FileNotFoundError,
    )


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Errors a user can act on print as one line, not a stack trace."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except _user_errors() as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_USER_ERROR)

    return wrapper


def _settings() -> Settings:
    try:
        return settings_module.load()
    except settings_module.SettingsError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_USER_ERROR)


def _log_to_stderr(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        force=True,
    )
    logging.getLogger("skillstream").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("apache_beam").setLevel(logging.ERROR)


class _Commands(click.Group):
    """click exits 2 on a usage error, the code that here means "some input dead-lettered"
    (docs/design.md §3.2); a usage error is a user error and exits 1, so that a cron job can tell
    the two apart."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            error.show()
            sys.exit(EXIT_USER_ERROR)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="skillstream")
def main() -> None:
    """skillstream: xAPI learning events to outcome dashboards and ROI reports."""


# Set by a command that has committed and closed all it wrote when it returns: the process
# then ends without the interpreter's teardown (`entry`).
_done_and_closed = False


def entry() -> None:
    """The `skillstream` program: `main`; after a command that set `_done_and_closed`, the
    process ends at once instead of tearing the interpreter down, module by module. After
    `transform --until-caught-up` of 1M statements that teardown (Beam, pyarrow, DuckDB's
    binding) took ~0.5 s, with the statements committed and the warehouse closed already."""
    try:
        main()
    except SystemExit as done:
        if not _done_and_closed or done.code not in (None, 0):
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(0)


# ---- broker ------------------------------------------------------------------------------


@main.command()
@friendly
def up() -> None:
    """Start the local single-node Kafka broker (KRaft) and create the topics."""
    from skillstream import broker

    settings = _settings()
    process = broker.up(settings)
    if process is None:
        click.echo(f"using the Kafka broker already at {settings.bootstrap}; topics are ready")
    else:
        click.echo(
            f"broker up: {settings.bootstrap} (pid {process.pid}, log {broker.log_file(settings)})"
        )


@main.command()
@friendly
def down() -> None:
    """Stop the broker `up` started (and nothing else)."""
    from skillstream import broker

    settings = _settings()
    click.echo("broker stopped" if broker.down(settings) else "no broker of this home is running")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@friendly
def status(as_json: bool) -> None:
    """The broker, topics and offsets; what `run` supervises; what was accepted, landed,
    built and published, the lag per partition and the published build's freshness."""
    from skillstream import broker, kafka
    from skillstream import run as live

    settings = _settings()
    process = broker.running(settings)
    report: dict[str, Any] = {
        "bootstrap": settings.bootstrap,
        "home": str(settings.home),
        "local_broker_pid": process.pid if process else None,
        "reachable": False,
        "topics": {},
    }
    try:
        for topic in kafka.topic_specs(settings):
            report["topics"][topic] = {
                str(p): {"beginning": b, "end": e}
                for p, (b, e) in kafka.offsets(settings, topic).items()
            }
        report["last_accepted_at"] = live.last_accepted(settings)
        report["reachable"] = True
    except kafka.KafkaUnavailable as error:
        report["error"] = str(error)
    report["run"] = live.components(settings)
    report["landed"] = live.landed(settings)
    if report["reachable"] and "next_offsets" in report["landed"]:
        ends = report["topics"][settings.statements_topic]
        report["lag"] = live.lag(ends, report["landed"]["next_offsets"])
    report.update(live.builds(settings))
    if as_json:
        click.echo(orjson.dumps(report).decode())
    else:
        _print_status(settings, report, process)
    sys.exit(0 if report["reachable"] else 3)


def _print_status(settings: Settings, report: dict[str, Any], process: Any) -> None:
    owner = f"local broker pid {process.pid}" if process else "not started by this home"
    state = "up" if report["reachable"] else "down"
    click.echo(f"broker {state} at {settings.bootstrap} ({owner})")
    for topic, parts in report["topics"].items():
        total = sum(o["end"] - o["beginning"] for o in parts.values())
        click.echo(f"  {topic}: {len(parts)} partition(s), {total} record(s)")
    if "error" in report:
        click.echo(f"  {report['error']}")
    run = report["run"]
    click.echo(f"run: pid {run['pid']}" if run["pid"] else "run: not running on this home")
    for name, part in run["components"].items():
        state = f"up (pid {part['pid']})" if part["up"] else "down"
        click.echo(f"  {name}: {state}, {part['restarts']} restart(s), log {part['log']}")
    click.echo(f"last statement accepted: {report.get('last_accepted_at') or 'none'}")
    landed = report["landed"]
    if "error" in landed:
        click.echo(f"last landed: unknown ({landed['error']})")
    else:
        count = landed["statements"]
        click.echo(f"last landed: {landed['last_landed_at'] or 'none'} ({count} statement(s))")
    if "lag" in report:
        lags = ", ".join(
            f"{p}: {n}" for p, n in sorted(report["lag"].items(), key=lambda i: int(i[0]))
        )
        click.echo(f"lag per partition: {lags}")
    last = report["last_build"]
    if last is not None:
        verdict = "published" if last["published"] else f"held back ({last['why']})"
        click.echo(f"last build: {last['build_id']} {verdict}, finished {last['finished_at']}")
    published = report["published"]
    if published is None:
        click.echo("published build: none")
    else:
        click.echo(
            f"published build: {published['build_id']}; freshness: newest statement "
            f"{published['newest_event_at'] or 'unknown'}, "
            f"stored {published['newest_stored_at'] or 'unknown'}"
        )


# ---- cluster -------------------------------------------------------------------------------


@main.group()
def cluster() -> None:
    """A cluster on this machine: 3 Kafka brokers, Flink (a JobManager, 2 TaskManagers),
    and Beam's Flink job server (docs/scale-out.md)."""


@cluster.command("fetch")
@friendly
def cluster_fetch() -> None:
    """Fetch Flink (PyPI) and Beam's Flink job server (Maven Central) into the cache."""
    from skillstream.cluster import fetch

    settings = _settings()
    fetch.fetch(settings)
    click.echo(f"Flink: {fetch.flink_home(settings)}")
    click.echo(f"Beam Flink job server: {fetch.job_server_jar(settings)}")


@cluster.command("up")
@friendly
def cluster_up() -> None:
    """Start every member of the cluster that is not running; print where clients reach it."""
    from skillstream import cluster as local_cluster

    settings = _settings()
    endpoints = local_cluster.up(settings)
    _print_cluster(settings)
    click.echo(f"export SKILLSTREAM_BOOTSTRAP={endpoints['bootstrap']}")


@cluster.command("down")
@click.option("--forget-ports", is_flag=True, help="Choose new ports at the next `cluster up`.")
@friendly
def cluster_down(forget_ports: bool) -> None:
    """Stop the members `cluster up` started (and nothing else)."""
    from skillstream import cluster as local_cluster

    stopped = local_cluster.down(_settings(), forget_ports=forget_ports)
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "no cluster member was running")


@cluster.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@friendly
def cluster_status(as_json: bool) -> None:
    """Each member's pid and ports, and the endpoints; exit 3 unless every member runs."""
    from skillstream import cluster as local_cluster

    settings = _settings()
    members = local_cluster.members(settings)
    if as_json:
        report = {
            "members": {m.name: {"pid": m.pid, "ports": m.ports} for m in members},
            **local_cluster.endpoints(settings),
        }
        click.echo(orjson.dumps(report).decode())
    else:
        _print_cluster(settings)
    sys.exit(0 if all(m.pid is not None for m in members) else 3)


def _print_cluster(settings: Settings) -> None:
    from skillstream import cluster as local_cluster

    for member in local_cluster.members(settings):
        ports = ", ".join(f"{name} {port}" for name, port in member.ports.items())
        state = f"pid {member.pid}" if member.pid is not None else "not running"
        click.echo(f"{member.name:<13} {state:<12} {ports}")
    for name, value in local_cluster.endpoints(settings).items():
        click.echo(f"{name}: {value}")


# ---- simulate and ingest -------------------------------------------------------------------


@main.command()
@click.option("--learners", default=500, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=90, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day of the simulated window (UTC) [default: 2026-07-01].",
)
@click.option(
    "--effect",
    "effects",
    multiple=True,
    metavar="NAME=VALUE",
    help="Change a planted effect, e.g. pilot_completion=0.6 (repeatable; see docs/simulate.md).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write NDJSON statements here."
)
@click.option("--to-kafka", is_flag=True, help="Produce the statements to Kafka.")
@click.option(
    "--to-http",
    metavar="URL",
    help="POST the statements to an xAPI Statements resource (Basic auth: key:secret@ in the URL).",
)
@click.option(
    "--roster",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the roster CSV [default: roster.csv beside --out, else in the home]; "
    "kpis.csv and settings.toml are written beside it.",
)
@friendly
def simulate(
    learners: int,
    days: int,
    seed: int,
    start: Any,
    effects: tuple[str, ...],
    out: Path | None,
    to_kafka: bool,
    to_http: str | None,
    roster: Path | None,
) -> None:
    """A simulated organisation: roster, KPIs and xAPI statements with planted effects."""
    from skillstream.ingestion import simulate as sim

    if sum((out is not None, to_kafka, to_http is not None)) != 1:
        raise click.UsageError("choose exactly one of --out FILE, --to-kafka or --to-http URL")
    try:
        planted = sim.DEFAULT_EFFECTS.with_settings(effects)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--effect") from None
    settings = _settings()
    simulation, statements = sim.run(learners, days, seed, start.date() if start else None, planted)
    roster_path = roster or (
        out.parent / "roster.csv" if out else settings.home / "simulate" / "roster.csv"
    )
    sim.write_roster(simulation.people, roster_path)
    count = 0
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as handle:
            for statement in statements:
                handle.write(orjson.dumps(statement) + b"\n")
                count += 1
    elif to_http is not None:
        count = sim.post_statements(to_http, statements)
    else:
        from skillstream.ingestion.produce import StatementProducer
        from skillstream.ingestion.sources import RawEvent

        producer = StatementProducer(settings, source="simulate")
        for statement in statements:
            producer.send(
                RawEvent(orjson.dumps(statement), f"simulate:{count}", statement=statement)
            )
            count += 1
        producer.close()
    kpis_path = roster_path.with_name("kpis.csv")
    settings_path = roster_path.with_name("settings.toml")
    sim.write_kpis(simulation, seed, kpis_path)
    sim.write_settings(simulation, settings_path)
    target = str(out) if out else to_http or settings.statements_topic
    click.echo(
        f"simulated {len(simulation.people)} learners, {count} statements -> {target}; "
        f"roster -> {roster_path}; kpis -> {kpis_path}; settings -> {settings_path}"
    )


class SourceGroup(click.Group):
    """`skillstream ingest NAME`: one subcommand per installed source (entry points)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from skillstream.ingestion.sources import installed_names

        return sorted(set(super().list_commands(ctx)) | set(installed_names()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from skillstream.ingestion.sources import SourceError, installed_names, load_source

        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in installed_names():
            return command
        try:
            return _source_command(load_source(cmd_name))
        except SourceError as error:
            raise click.ClickException(str(error)) from None


def _source_command(source: Any) -> click.Command:
    from skillstream.ingestion.sources import TableSource

    if isinstance(source, TableSource):

        def load_table(**options: Any) -> None:
            _print_import(source.load(_settings(), **options))

        return click.Command(
            source.name,
            params=list(source.parameters),
            callback=friendly(load_table),
            help=source.help,
        )

    def produce(restart: bool, quiet: bool, **options: Any) -> None:
        from skillstream.ingestion.run import run_statement_source

        settings = _settings()
        result = run_statement_source(
            settings,
            source,
            options,
            restart=restart,
            progress=not quiet and sys.stderr.isatty(),
            on_dead_letter=lambda e: click.echo(f"dead-lettered {e.origin}: {e.error}", err=True),
        )
        summary = {
            "statements": result.statements,
            "dead_letters": result.dead_letters,
            "topic": settings.statements_topic,
        }
        click.echo(orjson.dumps(summary).decode())
        if result.dead_letters:
            sys.exit(EXIT_PARTIAL)

    return click.Command(
        source.name,
        params=[
            *source.parameters,
            click.Option(["--restart"], is_flag=True, help="Ignore the saved cursor."),
            click.Option(["-q", "--quiet"], is_flag=True, help="No progress bar."),
        ],
        callback=friendly(produce),
        help=source.help,
    )


def _print_import(result: dict[str, Any]) -> None:
    for error in result.get("errors", []):
        click.echo(f"skipped {error}", err=True)
    click.echo(orjson.dumps({k: v for k, v in result.items() if k != "errors"}).decode())
    if result.get("skipped"):
        sys.exit(EXIT_PARTIAL)


@main.group(cls=SourceGroup)
def ingest() -> None:
    """Produce statements from a source to Kafka (sources are plugins: entry-point group
    skillstream.sources)."""


@main.group()
def dlq() -> None:
    """Dead letters (xapi.dlq): what did not become a statement, and why; replay them."""


def _letter_filters(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--source", help="Only the letters of this source.")(command)
    return click.option(
        "--since", metavar="TIME", help="Only letters received at or after TIME (UTC)."
    )(command)


@dlq.command("list")
@_letter_filters
@click.option("--json", "as_json", is_flag=True, help="One JSON object per letter.")
@friendly
def dlq_list(source: str | None, since: str | None, as_json: bool) -> None:
    """Dead letters, oldest first: ID, received, source, origin, reason."""
    from skillstream.ingestion import dlq as letters

    settings = _settings()
    moment = letters.since_time(since) if since else None
    for letter in letters.selected(settings, source, moment):
        click.echo(orjson.dumps(letter.summary()).decode() if as_json else letter.line())


@dlq.command("show")
@click.argument("letter_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@friendly
def dlq_show(letter_id: str, as_json: bool) -> None:
    """One dead letter whole, with its payload (ID as `dlq list` shows it)."""
    from skillstream.ingestion import dlq as letters

    letter = letters.find(_settings(), letter_id)
    if as_json:
        click.echo(orjson.dumps({**letter.summary(), "payload": letter.payload}).decode())
    else:
        click.echo("\n".join(letter.lines()))


@dlq.command("replay")
@_letter_filters
@friendly
def dlq_replay(source: str | None, since: str | None) -> None:
    """Run dead letters again through their source's mapping (statements: the validator)
    and produce what now passes; a letter replayed once is not sent again."""
    from skillstream.ingestion import dlq as letters

    settings = _settings()
    result = letters.replay(settings, source, letters.since_time(since) if since else None)
    for letter, reason in result.failures:
        click.echo(f"still failing {letter.id} {letter.origin}: {reason}", err=True)
    click.echo(orjson.dumps(result.summary(settings)).decode())
    if result.still_failing:
        sys.exit(EXIT_PARTIAL)


@main.group()
def roster() -> None:
    """The HR roster."""


@roster.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly
def roster_import(path: Path) -> None:
    """Load a roster CSV into raw.roster (replaces the previous import)."""
    from skillstream.ingestion.roster import source

    _print_import(source.load(_settings(), path=path))


@main.group()
def kpis() -> None:
    """Business KPI observations."""


@kpis.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly
def kpis_import(path: Path) -> None:
    """Load a KPI CSV into raw.kpi_observations (same learner/team, KPI and day: replaced)."""
    from skillstream.ingestion.kpis import source

    _print_import(source.load(_settings(), path=path))


@main.command()
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per statement.")
@click.option(
    "--xapi-version",
    type=click.Choice(["1.0.3", "2.0.0"]),
    default="2.0.0",
    show_default=True,
    help="2.0.0 also accepts 1.0.x statements.",
)
@friendly
def validate(path: str, as_json: bool, xapi_version: str) -> None:
    """Validate xAPI statements in PATH (.json, .ndjson, .gz; - for stdin) offline."""
    from skillstream.ingestion.validate import validate_path

    if path != "-" and not Path(path).is_file():
        raise click.BadParameter(f"{path} is not a file", param_hint="PATH")
    total = invalid = 0
    for entry in validate_path(path, xapi_version):
        total += 1
        invalid += not entry["valid"]
        if as_json:
            click.echo(orjson.dumps(entry).decode())
        elif not entry["valid"]:
            for error in entry["errors"]:
                click.echo(f"{entry['index']}: {error}")
    if not as_json:
        click.echo(f"{total - invalid} of {total} statement(s) valid (xAPI {xapi_version})")
    if invalid:
        sys.exit(EXIT_PARTIAL)


@main.command()
@click.option("--host", default=None, help="Default: the lrs_host setting (localhost).")
@click.option("--port", type=int, default=None, help="Default: the lrs_port setting (8080).")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="debug also logs every request.",
)
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --tls-cert: serve HTTPS. Without TLS, serve only on localhost (or behind a "
    "TLS-terminating proxy): HTTP Basic credentials travel in clear text.",
)
@friendly
def serve(
    host: str | None, port: int | None, log_level: str, tls_cert: Path | None, tls_key: Path | None
) -> None:
    """The xAPI Statements resource (LRS writes) at /xapi/statements; produces to Kafka."""
    from skillstream.ingestion.serve import serve as run_server
    from skillstream.ingestion.serve_http import Tls

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    tls = Tls(tls_cert, tls_key) if tls_cert and tls_key else None
    settings = _settings()
    host = host or settings.lrs_host
    port = port or settings.lrs_port
    scheme = "https" if tls else "http"
    click.echo(f"xAPI endpoint: {scheme}://{host}:{port}/xapi/ (OpenAPI: /openapi.json)", err=True)
    if tls is None and host not in ("localhost", "127.0.0.1", "::1"):
        click.echo(
            f"warning: serving plain HTTP on {host}: credentials travel in clear text; "
            "use --tls-cert/--tls-key or a TLS-terminating proxy",
            err=True,
        )
    try:
        run_server(settings, host, port, log_level, tls)
    except ValueError as error:
        raise click.ClickException(str(error)) from None


# ---- transform, build, dashboard ------------------------------------------------------------


@main.command("forget")
@click.option(
    "--learner",
    help="The learner's IFI, as the roster's learner column (email, "
    "mailto: IRI, homePage|name), or mbox_sha1sum:<hex>, openid:<uri>.",
)
@click.option("--learner-id", help="The learner's pseudonymous learner_id (64 hex digits).")
@click.option("-q", "--quiet", is_flag=True, help="Do not show dbt's output.")
@friendly
def forget_learner(learner: str | None, learner_id: str | None, quiet: bool) -> None:
    """Erase one learner everywhere, in every role; a re-import or replay does not bring them back.

    Tombstones the learner, deletes them from raw.* and replaces their mentions in other
    learners' statements in one transaction, then rebuilds (so the marts drop them) and,
    once that build is published, deletes the older snapshots.
    """
    from skillstream import forget

    if (learner is None) == (learner_id is None):
        raise click.UsageError("give exactly one of --learner IFI or --learner-id HEX")
    try:
        ifi = forget.parse_learner(learner) if learner is not None else None
        target = forget.parse_learner_id(learner_id) if learner_id is not None else None
    except forget.ForgetError as error:
        raise click.UsageError(str(error)) from None
    outcome = forget.forget_learner(_settings(), target, ifi, quiet=quiet)
    click.echo(orjson.dumps(outcome.summary).decode())
    if not outcome.finished:
        left = outcome.summary["remaining"]
        click.echo(
            "error: the learner is erased from raw, but "
            + (
                f"tables still hold them: {left}"
                if left
                else f"build {outcome.summary['build']['build_id']} was held back by the "
                "quality gate"
            )
            + "; earlier published snapshots were kept. Fix the build and run "
            "`skillstream forget` again (it is idempotent) to finish.",
            err=True,
        )
        for failure in outcome.failures:
            click.echo(f"  {failure['check']}: {failure['detail']}", err=True)
        sys.exit(EXIT_PARTIAL)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option(
    "--until-caught-up", "mode", flag_value="once", help="Land up to the current end of the topic."
)
@click.option(
    "--follow", "mode", flag_value="follow", help="Keep landing micro-batches until SIGTERM."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Records per batch read and normalised (transform_batch_size); the landing gathers "
    "consecutive batches up to transform_land_rows records a transaction.",
)
@click.option(
    "--interval",
    type=float,
    default=1.0,
    show_default=True,
    help="--follow: seconds between polls.",
)
@click.option("-q", "--quiet", is_flag=True, help="No per-batch progress on stderr.")
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
@friendly
def transform(
    mode: str | None,
    batch_size: int | None,
    interval: float,
    quiet: bool,
    beam_args: tuple[str, ...],
) -> None:
    """Run the Beam pipeline Kafka -> DuckDB. Extra arguments are Beam pipeline options."""
    global _done_and_closed
    from kafka.errors import KafkaError

    from skillstream.kafka import KafkaUnavailable
    from skillstream.transforms.kafka_read import KafkaStalled, stop_requested
    from skillstream.transforms.pipeline import TransformSummary, run_until_caught_up
    from skillstream.warehouse import WarehouseBusy

    if mode is None:
        raise click.UsageError("choose --until-caught-up or --follow")
    _log_to_stderr(verbose=not quiet)
    settings = _settings()
    if mode == "once":
        summary = run_until_caught_up(settings, beam_args, batch_size)
        click.echo(orjson.dumps({"partitions": len(summary.ranges), **summary.counters}).decode())
        _done_and_closed = True  # the run committed; its connections and clients are closed
        return
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True  # the batch in flight commits; the next one does not start
        stop_requested.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        try:
            summary = run_until_caught_up(settings, beam_args, batch_size)
        except (KafkaError, KafkaUnavailable, KafkaStalled, WarehouseBusy) as error:
            # Nothing of the failed round committed; the next round resumes from the offsets.
            logging.getLogger("skillstream.transforms").warning("round failed, retrying: %s", error)
            summary = TransformSummary([], {})
        if summary.ranges:
            click.echo(
                orjson.dumps({"partitions": len(summary.ranges), **summary.counters}).decode()
            )
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.05)


@main.command()
@click.option("-q", "--quiet", is_flag=True, help="Do not show dbt's output.")
@click.option(
    "--full-refresh", is_flag=True, help="Rebuild the incremental models from raw.* in full."
)
@click.option(
    "--no-unit-tests",
    is_flag=True,
    help="Leave dbt's unit tests out (they check the models' code, not the data; CI runs them).",
)
@click.option(
    "--force", is_flag=True, help="Build even when nothing is new since the published build."
)
@friendly
def build(
    quiet: bool, full_refresh: bool = False, no_unit_tests: bool = False, force: bool = False
) -> None:
    """dbt build, then the Great Expectations checkpoint; publish when both pass. Nothing
    landed, imported or changed since the published build: no build."""
    from skillstream.build import NothingNew, build_if_new
    from skillstream.build import build as run_build

    settings, unit_tests = _settings(), not no_unit_tests
    record = (
        run_build(settings, quiet=quiet, full_refresh=True, unit_tests=unit_tests)
        if full_refresh
        else build_if_new(settings, quiet=quiet, unit_tests=unit_tests, force=force)
    )
    if isinstance(record, NothingNew):
        click.echo(
            f"nothing new since build {record.build_id}: it stays published "
            "(`skillstream build --force` rebuilds)"
        )
        return
    if record.is_published:
        click.echo(f"build {record.build_id} published ({record.snapshot})")
    else:
        click.echo(f"build {record.build_id} held back by the quality gate:", err=True)
        for failure in record.failures:
            click.echo(f"  {failure['check']}: {failure['detail']}", err=True)
    if record.data_docs:
        click.echo(f"Data Docs: {record.data_docs}")
    if not record.is_published:
        sys.exit(EXIT_PARTIAL)


@main.group()
def report() -> None:
    """Reports for executives, from the last published build."""


@report.command("roi")
@click.option("--quarter", required=True, help="UTC calendar quarter, e.g. 2026Q3.")
@click.option(
    "--format", "fmt", type=click.Choice(["pdf", "csv", "xlsx"]), default="pdf", show_default=True
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@friendly
def report_roi(quarter: str, fmt: str, out: Path) -> None:
    """The quarterly ROI report (PDF 2-4 pages, CSV, or XLSX with one sheet per table)."""
    _write_roi_report(_settings(), quarter, fmt, out)


@report.command("at-risk")
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV with a learner column (email or homePage|name); its other columns are copied.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@friendly
def report_at_risk(roster: Path, out: Path) -> None:
    """The roster's learners at risk in the published build, by name (docs/privacy.md)."""
    from skillstream.dashboards import at_risk

    named = at_risk.named_at_risk(_settings(), roster)
    at_risk.write_csv(named, out)
    for error in named.errors:
        click.echo(f"skipped {error}", err=True)
    click.echo(
        f"{len(named.table)} of {named.at_risk} at-risk learner × program rows of build "
        f"{named.build_id} named from the roster ({named.unnamed} not in it): {out}"
    )


def _write_roi_report(settings: Settings, quarter: str, fmt: str, out: Path) -> None:
    from skillstream.dashboards import report as roi_report

    content = roi_report.render(roi_report.load_published(settings, quarter), fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    click.echo(f"ROI report {quarter} ({fmt}): {out}")


@main.group("pilot")
def pilot_group() -> None:
    """Plan a pilot and read it out (docs/pilot.md)."""


@pilot_group.command("plan")
@click.option(
    "--metric",
    required=True,
    type=click.Choice(["completion", "mastery", "days_to_competency", "retention_30d"]),
)
@click.option(
    "--lift",
    required=True,
    type=float,
    help="Change of the rate (0.2 = +20 points), or of median days (-0.4 = 40 % fewer).",
)
@click.option("--baseline-rate", type=click.FloatRange(0, 1, min_open=True, max_open=True))
@click.option("--power", default=0.8, show_default=True, type=click.FloatRange(0, 1, True, True))
@click.option("--alpha", default=0.05, show_default=True, type=click.FloatRange(0, 1, True, True))
@click.option("--team-size", type=click.IntRange(min=1), help="Also the smallest detectable lift.")
@click.option("--subject", default="", help="The program or skill id (default: all).")
@click.option("--window-days", default=30, show_default=True, type=click.IntRange(min=1))
@click.option("--baseline-cohort", help="Default: the baseline_cohort setting; all: everyone.")
@click.option(
    "--quarters", default=0, type=click.IntRange(min=0), help="The baseline's last N quarters."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@friendly
def pilot_plan(
    metric: str,
    lift: float,
    baseline_rate: float | None,
    power: float,
    alpha: float,
    team_size: int | None,
    subject: str,
    window_days: int,
    baseline_cohort: str | None,
    quarters: int,
    as_json: bool,
) -> None:
    """Learners per arm to show a lift; the baseline is the baseline cohort's in the published
    build unless --baseline-rate gives it."""
    from skillstream import pilot
    from skillstream.dashboards.suppression import Privacy

    settings = _settings()
    baseline: float | tuple[float, ...]
    if baseline_rate is not None:
        if metric == "days_to_competency":
            raise pilot.PilotError(
                "days_to_competency is planned from the observed days of the published build; "
                "--baseline-rate gives the baseline of a rate"
            )
        baseline = baseline_rate
    else:
        build = pilot.published_build(settings)
        k = Privacy.from_settings(settings).k
        cohort = baseline_cohort or settings.baseline_cohort
        baseline = pilot.baseline_of(
            build, metric, "" if cohort == "all" else cohort, subject, window_days, k, quarters
        )
    planned = pilot.plan(metric, lift, baseline, power, alpha, team_size, settings.comparison_seed)
    if as_json:
        click.echo(orjson.dumps(planned.as_json()).decode())
        return
    size = "more than 20000" if planned.per_arm is None else str(planned.per_arm)
    click.echo(
        f"{metric}: {size} learners per arm to show {pilot.lift_text(metric, lift)} "
        f"from a baseline of {planned.baseline:.3g}, with {power:.0%} power at alpha {alpha} "
        "(two-sided)"
    )
    if team_size is not None:
        click.echo(
            f"with {team_size} per arm the smallest detectable lift: "
            f"{pilot.lift_text(metric, planned.detectable_lift)}"
        )
    click.echo(f"method: {planned.method}")


@pilot_group.command("readout")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pilot.")
@friendly
def pilot_readout(as_json: bool) -> None:
    """Each [[pilots]] entry against its baseline over its window: the difference with its 95 %
    interval, whether it was powered for the planned lift, and scale / extend / stop."""
    from skillstream import pilot
    from skillstream.dashboards.suppression import Privacy

    settings = _settings()
    if not settings.pilots:
        raise pilot.PilotError("no [[pilots]] in skillstream.toml (docs/pilot.md)")
    build = pilot.published_build(settings)
    privacy = Privacy.from_settings(settings)
    for entry in settings.pilots:
        result = pilot.readout(build, entry, privacy, settings.comparison_seed)
        if as_json:
            click.echo(orjson.dumps(pilot.readout_json(result)).decode())
        else:
            click.echo(pilot.readout_text(result))


@main.command()
@friendly
def docs() -> None:
    """dbt docs generate: the models' documentation and lineage, under SKILLSTREAM_HOME."""
    from skillstream import warehouse
    from skillstream.build import run_dbt

    settings = _settings()
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)  # the catalog reads the sources' columns
    finally:
        con.close()
    result = run_dbt(settings, "docs", "generate", quiet=True)
    if result.returncode != 0:
        click.echo(result.stdout[-4000:], err=True)
        click.echo("error: dbt docs generate failed", err=True)
        sys.exit(EXIT_USER_ERROR)
    click.echo(f"dbt docs: {settings.home / 'dbt' / 'target' / 'index.html'}")


def dashboard_command(settings: Settings, port: int, address: str) -> list[str]:
    app = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
    ]


@main.command()
@click.option("--port", type=int, default=None, help="Default: the dashboard_port setting (8501).")
@click.option("--address", default="localhost", show_default=True)
def dashboard(port: int | None, address: str) -> None:
    """Serve the Streamlit dashboard (Ctrl-C stops it)."""
    settings = _settings()
    port = port or settings.dashboard_port
    click.echo(f"dashboard: http://{address}:{port}/")
    _serve_until_stopped(dashboard_command(settings, port, address), settings.child_env())


def _serve_until_stopped(command: list[str], env: dict[str, str]) -> None:
    """Run the server as a child until it ends, or until Ctrl-C or SIGTERM reach this command;
    then stop it (SIGKILL if it ignores SIGTERM for 10 s), so no server outlives the command
    and this process still exits normally (its own clean-up, e.g. worker pools, runs)."""
    child = subprocess.Popen(command, env=env)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        child.wait()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        signal.signal(signal.SIGTERM, previous)


@main.command("run")
@click.option("--serve-port", type=int, default=None, help="Default: the lrs_port setting (8080).")
@click.option(
    "--dashboard-port", type=int, default=None, help="Default: the dashboard_port setting (8501)."
)
@click.option(
    "--build-every",
    type=click.FloatRange(min=0.5),
    default=30.0,
    show_default=True,
    help="At most one build start in this many seconds; nothing newly landed, no build.",
)
@click.option("--no-serve", is_flag=True, help="Without the xAPI endpoint.")
@click.option("--no-dashboard", is_flag=True, help="Without the dashboard.")
@click.option("-q", "--quiet", is_flag=True, help="Log only restarts, failures and held builds.")
@friendly
def run_live(
    serve_port: int | None,
    dashboard_port: int | None,
    build_every: float,
    no_serve: bool,
    no_dashboard: bool,
    quiet: bool,
) -> None:
    """The live pipeline: broker, xAPI endpoint, transform --follow, a build loop and the
    dashboard, supervised until Ctrl-C or SIGTERM (docs/operations.md)."""
    _run_live(
        _settings(),
        serve_port,
        dashboard_port,
        build_every,
        serve=not no_serve,
        dashboard=not no_dashboard,
        quiet=quiet,
    )


def _run_live(
    settings: Settings,
    serve_port: int | None,
    dashboard_port: int | None,
    build_every: float,
    *,
    serve: bool,
    dashboard: bool,
    quiet: bool,
    env: dict[str, str] | None = None,
) -> None:
    from skillstream import run as live

    env = env or settings.child_env()
    if serve and not env.get("SKILLSTREAM_LRS_CREDENTIALS"):
        raise click.UsageError(
            "the xAPI endpoint needs SKILLSTREAM_LRS_CREDENTIALS=source:key:secret; "
            "set it, or run with --no-serve"
        )
    options = live.RunOptions(
        serve_port=serve_port or settings.lrs_port,
        dashboard_port=dashboard_port or settings.dashboard_port,
        build_every=build_every,
        serve=serve,
        dashboard=dashboard,
    )
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(message)s", force=True
    )
    logging.getLogger("skillstream").setLevel(logging.WARNING if quiet else logging.INFO)
    if serve:
        click.echo(
            f"xAPI endpoint: http://{settings.lrs_host}:{options.serve_port}/xapi/statements"
        )
    if dashboard:
        click.echo(f"dashboard: http://localhost:{options.dashboard_port}/")
    click.echo(f"logs: {live.run_dir(settings) / 'logs'}; Ctrl-C stops everything this started")
    try:
        live.supervise(settings, options, env)
    except live.RunRefused as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_USER_ERROR)


@main.command()
@click.option("--learners", default=500, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=90, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--no-dashboard", is_flag=True, help="Stop after the build.")
@click.pass_context
@friendly
def demo(ctx: click.Context, learners: int, days: int, seed: int, no_dashboard: bool) -> None:
    """Everything on a simulated organisation, then the dashboard."""
    settings = _settings()
    demo_dir = settings.home / "demo"
    statements = demo_dir / "statements.ndjson"
    _use_demo_settings(demo_dir / "settings.toml")
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("start the broker", lambda: ctx.invoke(up)),
        (
            "simulate an organisation",
            lambda: ctx.invoke(
                simulate, learners=learners, days=days, seed=seed, out=statements, to_kafka=False
            ),
        ),
        (
            "import the roster",
            lambda: _allow_partial(ctx.invoke, roster_import, path=demo_dir / "roster.csv"),
        ),
        (
            "import the KPIs",
            lambda: _allow_partial(ctx.invoke, kpis_import, path=demo_dir / "kpis.csv"),
        ),
        (
            "ingest the statements",
            lambda: _allow_partial(
                ctx.invoke,
                _source_command(_file_source()),
                paths=(statements,),
                restart=True,
                quiet=True,
            ),
        ),
        (
            "transform Kafka -> DuckDB",
            lambda: ctx.invoke(transform, mode="once", quiet=True, beam_args=()),
        ),
        ("build, check and publish", lambda: ctx.invoke(build, quiet=True)),
    ]
    for number, (title, step) in enumerate(steps, start=1):
        click.echo(f"[{number}/{len(steps) + 1}] {title}")
        step()
    settings = _settings()  # with the simulated organisation's settings, now written
    _demo_report(settings, demo_dir)
    if no_dashboard:
        return
    click.echo(
        f"[{len(steps) + 1}/{len(steps) + 1}] run live: endpoint, transform, builds, dashboard"
    )
    env = settings.child_env()
    env["SKILLSTREAM_LRS_CREDENTIALS"] = settings.lrs_credentials or DEMO_LRS_CREDENTIALS
    key, secret = env["SKILLSTREAM_LRS_CREDENTIALS"].split(",")[0].split(":", 2)[1:]
    click.echo(
        "post a statement; it shows on the dashboard after the next build:\n"
        f"  curl -u {key}:{secret} -H 'X-Experience-API-Version: 1.0.3' "
        "-H 'Content-Type: application/json' "
        f"http://{settings.lrs_host}:{settings.lrs_port}/xapi/statements -d '{DEMO_STATEMENT}'"
    )
    _run_live(settings, None, None, 30.0, serve=True, dashboard=True, quiet=False, env=env)


# `make demo`'s endpoint credentials (source:key:secret) when SKILLSTREAM_LRS_CREDENTIALS is unset.
DEMO_LRS_CREDENTIALS = "demo:demo-key:demo-secret"
# A statement of a learner of the simulated organisation, for the demo's `curl`.
DEMO_STATEMENT = (
    '{"actor": {"mbox": "mailto:learner00001@acme.example"}, '
    '"verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"}, '
    '"object": {"id": "https://lms.acme.example/courses/data-literacy"}}'
)


def _use_demo_settings(simulated: Path) -> None:
    """Run every step and live child with the simulated organisation's settings (its ROI
    assumptions and pilot), unless the user has a config of their own: then theirs wins."""
    own = os.environ.get("SKILLSTREAM_CONFIG") or (
        "skillstream.toml" if Path("skillstream.toml").is_file() else None
    )
    if own:
        click.echo(f"settings: {own} (yours); the simulated organisation's are in {simulated}")
        return
    os.environ["SKILLSTREAM_CONFIG"] = str(simulated)
    click.echo(f"settings: {simulated} (the simulated organisation's ROI assumptions and pilot)")


def _demo_report(settings: Settings, demo_dir: Path) -> None:
    """The ROI report of the latest quarter, next to the demo's statements."""
    from skillstream.dashboards import report as roi_report

    quarter = roi_report.latest_quarter(settings)
    if quarter is None:
        click.echo("no ROI report: the published build has no marts.roi_quarterly yet", err=True)
        return
    _write_roi_report(settings, quarter, "pdf", demo_dir / f"roi-{quarter}.pdf")


def _file_source() -> Any:
    from skillstream.ingestion.sources.file import source

    return source


def _allow_partial(invoke: Callable[..., Any], command: Any, **kwargs: Any) -> None:
    """Run a command whose exit code 2 (some input skipped) must not stop the demo."""
    try:
        invoke(command, **kwargs)
    except SystemExit as exit_:
        if exit_.code not in (0, None, EXIT_PARTIAL):
            raise


if __name__ == "__main__":
    entry()
