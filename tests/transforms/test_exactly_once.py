"""Exactly-once landing against the real broker and warehouse: reruns and SIGKILLs lose nothing
and land nothing twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import orjson
import pytest

from skillstream import kafka
from skillstream.settings import Settings
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

BATCH = "200"


def produce_simulated(settings: Settings, directory: Path, learners: int) -> set[str]:
    statements = directory / "statements.ndjson"
    run_cli(
        settings, "simulate", "--learners", str(learners), "--seed", "5", "--out", str(statements)
    )
    run_cli(settings, "ingest", "file", str(statements))
    return {orjson.loads(line)["id"] for line in statements.read_bytes().splitlines()}


def landed(settings: Settings) -> tuple[list[str], dict[int, int]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        ids = [r[0] for r in con.execute("SELECT statement_id FROM raw.statements").fetchall()]
        offsets = dict(
            con.execute("SELECT kafka_partition, next_offset FROM raw.ingest_offsets").fetchall()
        )
    finally:
        con.close()
    return ids, offsets


def transform_killed_at(settings: Settings, event: str, occurrence: int) -> bool:
    """Run the transform; SIGKILL it right after its `occurrence`-th `event` log line.

    Returns False when the run finished before that moment came.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skillstream.cli",
            "transform",
            "--until-caught-up",
            "--batch-size",
            BATCH,
        ],
        env={**os.environ, **settings.as_env()},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    seen = 0
    for line in process.stderr:
        if f" {event} " in line:
            seen += 1
            if seen == occurrence:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
    process.wait()
    return False


def test_a_second_run_lands_nothing_new(pipeline_settings: Settings, tmp_path: Path) -> None:
    produced = produce_simulated(pipeline_settings, tmp_path, learners=40)
    first = orjson.loads(run_cli(pipeline_settings, "transform", "--until-caught-up").stdout)
    assert first["statements_landed"] == len(produced)
    second = orjson.loads(run_cli(pipeline_settings, "transform", "--until-caught-up").stdout)
    assert second == {"partitions": 0}
    ids, _ = landed(pipeline_settings)
    assert sorted(ids) == sorted(produced)


def test_sigkill_at_random_moments_loses_nothing_and_lands_nothing_twice(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    produced = produce_simulated(pipeline_settings, tmp_path, learners=500)
    rng = random.Random(2026)
    kills = 0
    # Inside the warehouse transaction ("writing"), and between two of them ("committed").
    for event in ["writing", "committed", "writing", "writing", "committed"]:
        if transform_killed_at(pipeline_settings, event, occurrence=rng.randint(1, 4)):
            kills += 1
    assert kills >= 3, "the runs finished before the planned kills; the input is too small"
    run_cli(pipeline_settings, "transform", "--until-caught-up")
    ids, offsets = landed(pipeline_settings)
    assert len(ids) == len(set(ids)), "a statement landed twice"
    assert set(ids) == produced, "a statement was lost"
    ends = {
        p: end
        for p, (_, end) in kafka.offsets(
            pipeline_settings, pipeline_settings.statements_topic
        ).items()
    }
    assert offsets == ends
