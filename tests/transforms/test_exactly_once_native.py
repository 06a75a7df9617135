"""The exactly-once tests of test_exactly_once.py, the transform reading with the native reader
(librdkafka driven from the compiled module; the setting `kafka_client`): SIGKILLs, a producer
killed and its file replayed, the broker restarted mid-run, the real corpora ingested twice.
Nothing lost, nothing twice."""

from __future__ import annotations

import pytest

from skillstream import kafka
from tests.transforms.test_exactly_once import (  # noqa: F401  (collected here again)
    own_broker,
    test_a_producer_killed_mid_file_then_the_file_replayed_lands_each_statement_once,
    test_a_second_run_lands_nothing_new,
    test_the_broker_stopped_and_restarted_mid_run_loses_nothing,
    test_the_real_corpora_land_exactly_once_also_when_ingested_twice,
    test_twenty_sigkills_at_random_moments_lose_nothing_and_land_nothing_twice,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("kafka_client", ["native"]),
    # without the compiled module the native client reads with confluent-kafka, tested already
    pytest.mark.skipif(not kafka.native_reader_built(), reason="native/ is not built (no Rust)"),
]
