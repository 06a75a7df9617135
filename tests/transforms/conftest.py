"""The transform reads Kafka with either client (the setting `kafka_client`): the tests of
reading and of exactly-once landing run with each."""

from __future__ import annotations

import pytest

from skillstream.settings import Settings

KAFKA_CLIENTS = ("kafka-python", "confluent-kafka")


@pytest.fixture(params=KAFKA_CLIENTS)
def kafka_client(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client_settings(pipeline_settings: Settings, kafka_client: str) -> Settings:
    """pipeline_settings (a topic and warehouse of the test's own) reading with one client."""
    return pipeline_settings.with_overrides(kafka_client=kafka_client)
