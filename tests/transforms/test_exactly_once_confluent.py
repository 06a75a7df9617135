"""The exactly-once tests of test_exactly_once.py, the transform reading with confluent-kafka
(the setting `kafka_client`): SIGKILLs, a producer killed and its file replayed, the broker
restarted mid-run, the real corpora ingested twice. Nothing lost, nothing twice."""

from __future__ import annotations

import pytest

from tests.transforms.test_exactly_once import *  # noqa: F403  (collected here again)

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("kafka_client", ["confluent-kafka"])]
