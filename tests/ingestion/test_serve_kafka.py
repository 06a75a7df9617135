"""`skillstream serve` as a process on the real broker: acknowledged means in Kafka."""

from __future__ import annotations

import socket
from pathlib import Path

import orjson
import pytest
import requests

from skillstream.broker import free_port
from skillstream.settings import Settings
from skillstream.xapi.identity import learner_id
from tests.conftest import make_settings
from tests.ingestion.conftest import Server, start_server, stop_server
from tests.ingestion.test_ingest_file import read_topic

pytestmark = pytest.mark.integration

AUTH = ("lms-key", "s3cret")
HEADERS = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}


def statement(email: str, n: int) -> dict:
    return {
        "actor": {"mbox": f"mailto:{email}"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": f"https://lms.example/a/{n}"},
    }


def test_200_means_every_statement_is_in_kafka(
    lrs_server: Server, pipeline_settings: Settings
) -> None:
    batch = [
        statement("ada@example.com", 1),
        statement("bo@example.com", 2),
        statement("cy@x.io", 3),
    ]
    response = requests.post(lrs_server.url + "statements", json=batch, auth=AUTH, headers=HEADERS)
    assert response.status_code == 200, response.text
    ids = response.json()
    single = requests.post(
        lrs_server.url + "statements",
        data=orjson.dumps(statement("ada@example.com", 4)),
        auth=("bot-key", "t0ken"),
        headers=HEADERS,
    )
    assert single.status_code == 200
    records = read_topic(pipeline_settings, pipeline_settings.statements_topic)
    assert sorted(orjson.loads(r.value)["id"] for r in records) == sorted(ids + single.json())
    salt = pipeline_settings.learner_salt()
    by_id = {orjson.loads(r.value)["id"]: r for r in records}
    first = by_id[ids[0]]
    assert first.key.decode() == learner_id("mailto:ada@example.com", salt)
    assert dict(first.headers)["source"] == b"moodle"
    assert dict(by_id[single.json()[0]].headers)["source"] == b"tutor"


def test_bad_input_leaves_the_real_server_up_and_kafka_untouched(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    server = start_server(pipeline_settings, tmp_path / "serve.log", lrs_max_request_bytes="100000")
    try:
        url = server.url + "statements"
        bad_bodies = [
            b"[" * 10_000 + b"]" * 10_000,
            b'{"actor": "\xff"}',
            b'[{"a": NaN}]',
            b'{"verb": {}, "verb": {}}',
            b"x" * 200_000,
            b'{"actor": ',
        ]
        statuses = [
            requests.post(url, data=body, auth=AUTH, headers=HEADERS).status_code
            for body in bad_bodies
        ]
        assert statuses == [400, 400, 400, 400, 413, 400]
        # A client that lies about the length and keeps sending is cut off too.
        with socket.create_connection(
            ("127.0.0.1", int(server.url.split(":")[2].split("/")[0]))
        ) as raw:
            raw.sendall(
                b"POST /xapi/statements HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"X-Experience-API-Version: 1.0.3\r\n"
                b"Authorization: Basic bG1zLWtleTpzM2NyZXQ=\r\n\r\n"
                + (b"10000\r\n" + b" " * 65536 + b"\r\n")
                * 3
            )
            assert raw.recv(200).startswith(b"HTTP/1.1 413")
        assert server.alive()
        ok = requests.post(url, json=statement("ada@example.com", 1), auth=AUTH, headers=HEADERS)
        assert ok.status_code == 200
        records = read_topic(pipeline_settings, pipeline_settings.statements_topic)
        assert [orjson.loads(r.value)["id"] for r in records] == ok.json()
    finally:
        stop_server(server)


def test_kafka_unreachable_is_503_never_200(tmp_path: Path) -> None:
    nowhere = make_settings(tmp_path, bootstrap=f"127.0.0.1:{free_port()}")
    server = start_server(nowhere, tmp_path / "serve.log")
    try:
        for _ in range(2):
            response = requests.post(
                server.url + "statements",
                json=statement("ada@example.com", 1),
                auth=AUTH,
                headers=HEADERS,
                timeout=60,
            )
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "5"
            assert "Kafka cannot be reached" in response.json()["error"]
        assert server.alive()
    finally:
        stop_server(server)
