"""`transform --follow`: lands statements as they arrive; SIGTERM lets the batch in flight
commit, then exits 0 with nothing lost or landed twice."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from skillstream.settings import Settings
from tests.conftest import run_cli
from tests.transforms.conftest import NORMALISED_WITH
from tests.transforms.test_exactly_once import (
    Transform,
    assert_exactly_once,
    landed,
    produce_simulated,
    query,
)

pytestmark = pytest.mark.integration


def test_follow_lands_what_arrives_and_sigterm_ends_after_the_batch_in_flight(
    pipeline_settings: Settings, tmp_path: Path, normaliser: str
) -> None:
    run = Transform(
        pipeline_settings,
        "--follow",
        "--interval",
        "0.2",
        "--batch-size",
        "100",
    )
    try:
        first = produce_simulated(pipeline_settings, tmp_path / "a", learners=20)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if run.landed_so_far() >= len(first):
                break
            time.sleep(0.2)
        assert run.landed_so_far() == len(first), "--follow did not land what arrived"
        # A second file while it runs: SIGTERM as a batch begins its landing transaction.
        second = produce_simulated(pipeline_settings, tmp_path / "b", learners=1000) | first
        run.forget_seen()
        assert run.wait_for(" writing ", timeout=60)
        run.process.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0, "".join(run.stderr[-20:])
    finally:
        if run.process.poll() is None:
            run.kill()
    assert any(" committed " in line for line in run.stderr[-5:]), "the batch did not commit"
    assert any(NORMALISED_WITH[normaliser] in line for line in run.stderr)
    ids, _ = landed(pipeline_settings)
    assert first < set(ids) < second, "SIGTERM should stop before the whole backlog landed"
    # Whatever it stopped at, the offsets say exactly what landed: the next run completes it.
    run_cli(pipeline_settings, "transform", "--until-caught-up")
    assert_exactly_once(pipeline_settings, second)
    stale = query(
        pipeline_settings,
        "SELECT count(*) FROM raw.statements WHERE kafka_timestamp IS NULL "
        "OR landed_at < kafka_timestamp - INTERVAL 1 SECOND",
    )
    assert stale == [(0,)]
