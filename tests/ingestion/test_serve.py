"""`skillstream serve` in-process: the xAPI rules of the Statements resource and bad input.

The Kafka sink is replaced by a recorder here (one function under test: the request
handling); tests/ingestion/test_serve_kafka.py runs the real server on the real broker.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from skillstream.ingestion.serve import KafkaSink, create_app
from skillstream.kafka import KafkaUnavailable
from skillstream.settings import Settings
from tests.conftest import make_settings

STATEMENT: dict[str, Any] = {
    "actor": {"objectType": "Agent", "mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": "https://lms.example/course/1"},
}
GOOD_ID = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"


class RecordingSink(KafkaSink):
    def __init__(self) -> None:
        self.requests: list[tuple[list[dict[str, Any]], str]] = []
        self.unavailable = False

    def produce(self, statements: list[dict[str, Any]], source: str, origin: str) -> None:
        if self.unavailable:
            raise KafkaUnavailable("no broker")
        self.requests.append((copy.deepcopy(statements), source))

    def close(self) -> None:
        pass


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


HEADERS = {"Authorization": basic("lms-key", "s3cret"), "X-Experience-API-Version": "1.0.3"}


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def client(tmp_path, sink: RecordingSink) -> TestClient:
    settings: Settings = make_settings(
        tmp_path,
        lrs_credentials="moodle:lms-key:s3cret,tutor:bot-key:t0ken",
        lrs_max_request_bytes="200000",
    )
    return TestClient(create_app(settings, sink=sink), raise_server_exceptions=False)


def post(
    client: TestClient, body: Any, headers: dict[str, str] = HEADERS, raw: bytes | None = None
):
    content = raw if raw is not None else orjson.dumps(body)
    return client.post(
        "/xapi/statements",
        content=content,
        headers={**headers, "Content-Type": "application/json"},
    )


def test_post_one_statement_sets_what_the_lrs_sets(client: TestClient, sink: RecordingSink) -> None:
    response = post(client, STATEMENT)
    assert response.status_code == 200, response.text
    (statement_id,) = response.json()
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    (stored,), source = sink.requests[0]
    assert source == "moodle"
    assert stored["id"] == statement_id
    assert stored["version"] == "1.0.3"
    assert stored["stored"].endswith("Z") and stored["timestamp"] == stored["stored"]
    assert stored["authority"] == {
        "objectType": "Agent",
        "name": "moodle",
        "account": {"homePage": "https://w3id.org/skillstream/source", "name": "moodle"},
    }


def test_post_an_array_keeps_given_ids_in_order(client: TestClient, sink: RecordingSink) -> None:
    response = post(client, [dict(STATEMENT, id=GOOD_ID), STATEMENT])
    assert response.status_code == 200
    ids = response.json()
    assert ids[0] == GOOD_ID and len(ids) == 2 and ids[1] != GOOD_ID
    assert [s["id"] for s in sink.requests[0][0]] == ids


def test_one_invalid_statement_rejects_the_whole_request(
    client: TestClient, sink: RecordingSink
) -> None:
    bad = dict(STATEMENT, actor={"mbox": "ada@example.com"})
    response = post(client, [STATEMENT, bad, dict(STATEMENT, verb={})])
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid statement(s); none was accepted",
        "reasons": [
            "[1].actor.mbox: must be a mailto: IRI (mailto:name@host)",
            "[2].verb.id: is required and must be an IRI string",
        ],
    }
    assert sink.requests == []


def test_repeated_ids_in_one_request(client: TestClient, sink: RecordingSink) -> None:
    response = post(client, [dict(STATEMENT, id=GOOD_ID), dict(STATEMENT, id=GOOD_ID.upper())])
    assert response.status_code == 400
    assert response.json()["reasons"] == ["[1].id: repeats the id of statement [0]"]


def test_the_version_header_is_required_and_checked(client: TestClient) -> None:
    without = {"Authorization": HEADERS["Authorization"]}
    response = post(client, STATEMENT, headers=without)
    assert response.status_code == 400
    assert "X-Experience-API-Version header is required" in response.json()["error"]
    for unsupported in ("1.1.0", "0.95", "2.1.0", "two"):
        response = post(
            client, STATEMENT, headers={**without, "X-Experience-API-Version": unsupported}
        )
        assert response.status_code == 400, unsupported
    for accepted in ("1.0", "1.0.0", "1.0.3", "2.0.0"):
        response = post(
            client, STATEMENT, headers={**without, "X-Experience-API-Version": accepted}
        )
        assert response.status_code == 200, accepted


def test_2_0_properties_need_a_2_0_client(client: TestClient) -> None:
    statement = dict(
        STATEMENT,
        context={
            "contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:t@x.io"}}]
        },
    )
    assert post(client, statement).status_code == 400
    two = {**HEADERS, "X-Experience-API-Version": "2.0.0"}
    response = post(client, statement, headers=two)
    assert response.status_code == 200
    assert response.headers["X-Experience-API-Version"] == "2.0.0"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer x", basic("lms-key", "wrong"), basic("nobody", "s3cret"), "Basic !!"],
)
def test_basic_auth_per_source(
    client: TestClient, sink: RecordingSink, authorization: str | None
) -> None:
    headers = {"X-Experience-API-Version": "1.0.3"}
    if authorization:
        headers["Authorization"] = authorization
    response = post(client, STATEMENT, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert sink.requests == []


def test_each_credential_records_its_source(client: TestClient, sink: RecordingSink) -> None:
    headers = {**HEADERS, "Authorization": basic("bot-key", "t0ken")}
    assert post(client, STATEMENT, headers=headers).status_code == 200
    assert sink.requests[0][1] == "tutor"


def test_put_with_statement_id(client: TestClient, sink: RecordingSink) -> None:
    url = f"/xapi/statements?statementId={GOOD_ID}"
    response = client.put(url, content=orjson.dumps(STATEMENT), headers=HEADERS)
    assert response.status_code == 204
    assert sink.requests[0][0][0]["id"] == GOOD_ID
    assert client.put("/xapi/statements", content=b"{}", headers=HEADERS).status_code == 400
    other = dict(STATEMENT, id="8f87ccde-bb56-4c2e-ab83-44982ef22df0")
    response = client.put(url, content=orjson.dumps(other), headers=HEADERS)
    assert response.status_code == 400
    assert "differs from statementId" in response.json()["error"]
    response = client.put(url, content=orjson.dumps([STATEMENT]), headers=HEADERS)
    assert response.status_code == 400


def test_get_is_a_clean_405(client: TestClient) -> None:
    response = client.get("/xapi/statements", headers=HEADERS)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, PUT"
    message = response.json()["error"]
    assert "analytics sink" in message
    assert "warehouse" in message  # names the alternative


def test_kafka_unreachable_is_503_with_retry_after(client: TestClient, sink: RecordingSink) -> None:
    sink.unavailable = True
    response = post(client, STATEMENT)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    sink.unavailable = False
    assert post(client, STATEMENT).status_code == 200


def test_about_and_openapi(client: TestClient) -> None:
    about = client.get("/xapi/about")
    assert about.status_code == 200
    assert about.json()["version"] == ["1.0.0", "1.0.1", "1.0.2", "1.0.3", "2.0.0"]
    old_client = client.get("/xapi/about", headers={"X-Experience-API-Version": "1.0.3"})
    assert old_client.json()["version"] == ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]
    document = client.get("/openapi.json").json()
    assert {"post", "put"} <= set(document["paths"]["/xapi/statements"])
    schemas = document["components"]["schemas"]
    assert schemas["Statement"]["required"] == ["actor", "verb", "object"]
    assert "contextAgents" in schemas["Context"]["properties"]
    assert schemas["SubStatement"]["properties"].keys().isdisjoint({"id", "stored", "authority"})


def test_attachment_data_comes_by_file_url_or_in_a_part(client: TestClient) -> None:
    attachment = {
        "usageType": "http://adlnet.gov/expapi/attachments/signature",
        "display": {"en-US": "Signature"},
        "contentType": "application/octet-stream",
        "length": 4,
        "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634",
    }
    response = post(client, dict(STATEMENT, attachments=[attachment]))
    assert response.status_code == 400
    assert response.json()["reasons"] == [
        f"[0].attachments[0]: no part holds its data (sha2 {attachment['sha2']})"
    ]
    multipart = {**HEADERS, "Content-Type": "multipart/mixed; boundary=x"}
    response = client.post("/xapi/statements", content=b"--x--", headers=multipart)
    assert response.status_code == 400


# ---- bad input: a clear 4xx with the reason, nothing produced, the server stays up ---------

BAD_INPUT = {
    "malformed JSON": (b'{"actor": ', 400, "$: malformed JSON"),
    "wrong types": (b"[1, 2]", 400, "[0]: a statement must be a JSON object"),
    "a bare string": (b'"statement"', 400, "the body must be a statement object"),
    "an empty array": (b"[]", 400, "the array holds no statements"),
    "deep nesting": (b"[" * 10_000 + b"]" * 10_000, 400, "$: nested deeper than 1024 levels"),
    "invalid UTF-8": (b'{"actor": "\xff\xfe"}', 400, "$: invalid UTF-8 at byte 11"),
    "NaN": (b'{"result": {"score": {"raw": NaN}}}', 400, "$: NaN is not a JSON number"),
    "Infinity": (
        b'{"result": {"score": {"raw": -Infinity}}}',
        400,
        "$: -Infinity is not a JSON number",
    ),
    "duplicate keys": (
        b'{"actor": {"mbox": "mailto:a@b.c"}, "actor": {"mbox": "mailto:x@y.z"}}',
        400,
        "$: duplicate key 'actor' in one object",
    ),
    "oversized body": (b"[" + b" " * 200_001 + b"]", 413, "larger than 200000 bytes"),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_bad_input(client: TestClient, sink: RecordingSink, case: str) -> None:
    raw, status, reason = BAD_INPUT[case]
    response = post(client, None, raw=raw)
    assert response.status_code == status, response.text
    body = response.json()
    assert reason in " ".join([body["error"], *body.get("reasons", [])]), body
    assert sink.requests == []
    assert post(client, STATEMENT).status_code == 200  # the server stays up


def test_a_large_batch_is_accepted_whole(client: TestClient, sink: RecordingSink) -> None:
    batch = [dict(STATEMENT, object={"id": f"https://lms.example/a/{n}"}) for n in range(1000)]
    response = post(client, batch)  # about 150 kB: parsed and validated off the event loop
    assert response.status_code == 200
    assert len(set(response.json())) == 1000
    assert len(sink.requests[0][0]) == 1000
    batch[999]["verb"] = {"id": "not an iri"}
    response = post(client, batch)
    assert response.status_code == 400
    assert response.json()["reasons"][0].startswith("[999].verb.id: must be an IRI")
