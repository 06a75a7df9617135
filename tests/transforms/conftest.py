"""The transform reads Kafka with any of its clients (the setting `kafka_client`): the tests of
reading and of exactly-once landing run with each."""

from __future__ import annotations

import pytest

from skillstream import kafka
from skillstream.settings import CHOICES, Settings

KAFKA_CLIENTS = CHOICES["kafka_client"]


@pytest.fixture(params=KAFKA_CLIENTS)
def kafka_client(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client_settings(pipeline_settings: Settings, kafka_client: str) -> Settings:
    """pipeline_settings (a topic and warehouse of the test's own) reading with one client."""
    if kafka_client == "native" and not kafka.native_reader_built():
        pytest.skip("transforms/native/ is not built (no Rust): the native client reads with confluent-kafka")
    return pipeline_settings.with_overrides(kafka_client=kafka_client)
