"""The exactly-once tests of test_exactly_once.py, the transform reading with the native reader
(librdkafka driven from the compiled module; the setting `kafka_client`): SIGKILLs, a producer
killed and its file replayed, the broker restarted mid-run, the real corpora ingested twice.
Nothing lost, nothing twice."""

from __future__ import annotations

import pytest

from skillstream import kafka
from tests.transforms.test_exactly_once import *  # noqa: F403  (collected here again)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("kafka_client", ["native"]),
    # without the compiled module the native client reads with confluent-kafka, tested already
    pytest.mark.skipif(not kafka.native_reader_built(), reason="transforms/native/ is not built (no Rust)"),
]
