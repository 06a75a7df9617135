"""`skillstream serve` in-process: every write an LRS client can make (multipart attachments,
signed statements, the alternate request syntax), authentication before anything else, the
version on every answer, and what the endpoint says about the resources it does not serve.

The Kafka sink is a recorder (tests/ingestion/test_serve_kafka.py runs the real broker)."""

from __future__ import annotations

import base64
import copy
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi.testclient import TestClient

from skillstream.ingestion import serve as serve_module
from skillstream.ingestion.serve import create_app
from tests.conftest import make_settings
from tests.ingestion.conftest import self_signed_certificate
from tests.ingestion.test_serve import GOOD_ID, HEADERS, STATEMENT, RecordingSink, basic

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
BOUNDARY = "skillstream-test-boundary"
TEXT = b"here is a simple attachment"


def make_client(tmp_path: Path, sink: RecordingSink, **overrides: str) -> TestClient:
    settings = make_settings(
        tmp_path, lrs_credentials="moodle:lms-key:s3cret,tutor:bot-key:t0ken", **overrides
    )
    return TestClient(create_app(settings, sink=sink), raise_server_exceptions=False)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def client(tmp_path: Path, sink: RecordingSink) -> TestClient:
    return make_client(tmp_path, sink)


def attachment(data: bytes, usage: str = "http://example.com/usage/notes", **extra: Any) -> dict:
    return {
        "usageType": usage,
        "display": {"en-US": "An attachment"},
        "contentType": "text/plain",
        "length": len(data),
        "sha2": hashlib.sha256(data).hexdigest(),
        **extra,
    }


def multipart(document: Any, *parts: tuple[dict[str, str], bytes]) -> bytes:
    chunks = [f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n".encode()]
    chunks.append(orjson.dumps(document))
    for headers, body in parts:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        chunks.append(f"\r\n--{BOUNDARY}\r\n{lines}\r\n".encode() + body)
    chunks.append(f"\r\n--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


def data_part(data: bytes, content_type: str = "text/plain") -> tuple[dict[str, str], bytes]:
    return (
        {
            "Content-Type": content_type,
            "Content-Transfer-Encoding": "binary",
            "X-Experience-API-Hash": hashlib.sha256(data).hexdigest(),
        },
        data,
    )


def post_multipart(client: TestClient, body: bytes, headers: dict[str, str] = HEADERS):
    content_type = f"multipart/mixed; boundary={BOUNDARY}"
    return client.post(
        "/xapi/statements", content=body, headers={**headers, "Content-Type": content_type}
    )


def stored_files(tmp_path: Path) -> list[str]:
    directory = tmp_path / "home" / "attachments"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# ---- multipart/mixed: raw data, fileUrl, none ----------------------------------------------


def test_raw_attachment_data_goes_to_the_store_not_to_kafka(
    client: TestClient, sink: RecordingSink, tmp_path: Path
) -> None:
    statement = dict(STATEMENT, attachments=[attachment(TEXT)])
    response = post_multipart(client, multipart(statement, data_part(TEXT)))
    assert response.status_code == 200, response.text
    (produced,) = sink.requests[0][0]
    assert produced["attachments"] == [attachment(TEXT)]  # the metadata lands
    assert TEXT.decode() not in orjson.dumps(sink.requests).decode()
    sha2 = hashlib.sha256(TEXT).hexdigest()
    assert stored_files(tmp_path) == [sha2]
    assert (tmp_path / "home" / "attachments" / sha2).read_bytes() == TEXT


def test_attachment_data_can_be_dropped(tmp_path: Path, sink: RecordingSink) -> None:
    client = make_client(tmp_path, sink, lrs_attachments="drop")
    statement = dict(STATEMENT, attachments=[attachment(TEXT)])
    assert post_multipart(client, multipart(statement, data_part(TEXT))).status_code == 200
    assert sink.requests[0][0][0]["attachments"] == [attachment(TEXT)]
    assert stored_files(tmp_path) == []


def test_multipart_with_file_url_attachments_or_none(
    client: TestClient, sink: RecordingSink
) -> None:
    by_url = dict(STATEMENT, attachments=[attachment(TEXT, fileUrl="https://lms.example/n.txt")])
    assert post_multipart(client, multipart(by_url)).status_code == 200
    assert post_multipart(client, multipart([STATEMENT, STATEMENT])).status_code == 200
    assert [len(statements) for statements, _ in sink.requests] == [1, 2]


def with_data_part(headers: dict[str, str]) -> bytes:
    return multipart(dict(STATEMENT, attachments=[attachment(TEXT)]), (headers, TEXT))


GOOD_HEADERS = data_part(TEXT)[0]
BAD_MULTIPART = {
    "bytes that do not hash to the declared sha2": (
        with_data_part({**GOOD_HEADERS, "X-Experience-API-Hash": "0" * 64}),
        "part 1: its bytes do not hash to",
    ),
    "no hash header": (
        with_data_part({k: v for k, v in GOOD_HEADERS.items() if k != "X-Experience-API-Hash"}),
        "part 1: the X-Experience-API-Hash header is missing",
    ),
    "not binary": (
        with_data_part({**GOOD_HEADERS, "Content-Transfer-Encoding": "base64"}),
        "part 1: Content-Transfer-Encoding must be binary",
    ),
    "a part no attachment names": (
        multipart(STATEMENT, data_part(TEXT)),
        "belongs to no attachment",
    ),
    "an attachment without its part": (
        multipart(dict(STATEMENT, attachments=[attachment(TEXT)])),
        "[0].attachments[0]: no part holds its data",
    ),
    "statements not first": (
        f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nhi\r\n--{BOUNDARY}--\r\n".encode(),
        "the first part must hold the statements as application/json",
    ),
    "no closing boundary": (
        f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{{}}".encode(),
        "does not hold parts between its boundaries",
    ),
}


@pytest.mark.parametrize("case", BAD_MULTIPART, ids=list(BAD_MULTIPART))
def test_bad_multipart_is_400_and_nothing_lands(
    client: TestClient, sink: RecordingSink, tmp_path: Path, case: str
) -> None:
    body, reason = BAD_MULTIPART[case]
    response = post_multipart(client, body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert reason in " ".join([answer["error"], *answer.get("reasons", [])]), answer
    assert sink.requests == []
    assert stored_files(tmp_path) == []


def test_multipart_needs_a_boundary_and_must_be_mixed(client: TestClient) -> None:
    body = multipart(STATEMENT)
    for content_type in ("multipart/mixed", f"multipart/form-data; boundary={BOUNDARY}"):
        headers = {**HEADERS, "Content-Type": content_type}
        response = client.post("/xapi/statements", content=body, headers=headers)
        assert response.status_code == 400, content_type


# ---- signed statements ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    return self_signed_certificate("skillstream test signer")


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jws(payload: dict, key: rsa.RSAPrivateKey, alg: str, x5c: x509.Certificate | None) -> bytes:
    header: dict[str, Any] = {"alg": alg}
    if x5c is not None:
        der = x5c.public_bytes(serialization.Encoding.DER)
        header["x5c"] = [base64.b64encode(der).decode()]
    signing_input = b64url(orjson.dumps(header)) + b"." + b64url(orjson.dumps(payload))
    digest = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}
    signature = key.sign(signing_input, padding.PKCS1v15(), digest.get(alg, hashes.SHA256()))
    return signing_input + b"." + b64url(signature)


def signed_request(statement: dict, signature: bytes) -> bytes:
    signature_attachment = attachment(
        signature, usage=SIGNATURE, contentType="application/octet-stream"
    )
    signed = dict(statement, attachments=[signature_attachment])
    return multipart(signed, data_part(signature, "application/octet-stream"))


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_signed_statements_are_verified_and_accepted(
    client: TestClient, sink: RecordingSink, signer: Any, alg: str, tmp_path: Path
) -> None:
    key, certificate = signer
    statement = dict(STATEMENT, id=GOOD_ID)
    response = post_multipart(
        client, signed_request(statement, jws(statement, key, alg, certificate))
    )
    assert response.status_code == 200, response.text
    assert sink.requests[0][0][0]["attachments"][0]["usageType"] == SIGNATURE
    assert stored_files(tmp_path) == []  # the JWS holds the statement as sent: not kept


def test_a_signature_without_a_certificate_is_checked_against_the_statement(
    client: TestClient, signer: Any
) -> None:
    key, _ = signer
    statement = dict(STATEMENT, id=GOOD_ID)
    response = post_multipart(client, signed_request(statement, jws(statement, key, "RS256", None)))
    assert response.status_code == 200, response.text


def other_key_signature(signer: Any) -> bytes:
    """A JWS of the statement signed by another key, carrying the signer's certificate."""
    _, certificate = signer
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jws(dict(STATEMENT, id=GOOD_ID), impostor, "RS256", certificate)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("another statement", "the JWS payload is not this statement"),
        ("another key", "does not verify against the x5c certificate"),
        ("HS256", "the JWS algorithm must be RS256, RS384 or RS512"),
        ("not a JWS", "not a JWS in compact serialization"),
    ],
)
def test_a_bad_signature_is_400(
    client: TestClient, sink: RecordingSink, signer: Any, case: str, reason: str
) -> None:
    key, certificate = signer
    statement = dict(STATEMENT, id=GOOD_ID)
    signature = {
        "another statement": lambda: jws(
            dict(statement, verb={"id": "http://adlnet.gov/expapi/verbs/failed"}),
            key,
            "RS256",
            certificate,
        ),
        "another key": lambda: other_key_signature(signer),
        "HS256": lambda: jws(statement, key, "HS256", None),
        "not a JWS": lambda: b"this is no signature",
    }[case]()
    response = post_multipart(client, signed_request(statement, signature))
    assert response.status_code == 400, response.text
    assert any(reason in r for r in response.json()["reasons"]), response.json()
    assert sink.requests == []


# ---- the alternate request syntax (xAPI 1.0.3 Communication 1.3) --------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def alternate(client: TestClient, method: str, form: dict[str, str], query: str = ""):
    url = f"/xapi/statements?method={method}{query}"
    return client.post(url, content=urlencode(form).encode(), headers=FORM)


def test_a_form_encoded_put_is_the_put_it_carries(client: TestClient, sink: RecordingSink) -> None:
    form = {
        "Authorization": basic("lms-key", "s3cret"),
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
        "statementId": GOOD_ID,
        "content": orjson.dumps(STATEMENT).decode(),
    }
    response = alternate(client, "PUT", form)
    assert response.status_code == 204, response.text
    assert sink.requests[0][0][0]["id"] == GOOD_ID
    assert alternate(client, "POST", form).status_code == 200  # statementId is ignored by POST
    assert (
        alternate(client, "PUT", dict(form, Authorization=basic("lms-key", "no"))).status_code
        == 401
    )
    assert alternate(client, "PUT", form, query="&statementId=" + GOOD_ID).status_code == 400
    get = alternate(client, "GET", form)
    assert get.status_code == 405
    assert "analytics sink" in get.json()["error"]


def test_the_alternate_syntax_is_1_0_only(client: TestClient, sink: RecordingSink) -> None:
    form = {
        "Authorization": basic("lms-key", "s3cret"),
        "X-Experience-API-Version": "2.0.0",
        "statementId": GOOD_ID,
        "content": orjson.dumps(STATEMENT).decode(),
    }
    response = alternate(client, "PUT", form)
    assert response.status_code == 400
    assert "1.0.x only" in response.json()["error"]
    assert sink.requests == []


# ---- authentication first, then the version, then the resource ----------------------------

EVERY_REQUEST = [
    ("GET", "/xapi/statements"),
    ("HEAD", "/xapi/statements"),
    ("DELETE", "/xapi/statements"),
    ("OPTIONS", "/xapi/statements"),
    ("PUT", "/xapi/statements?statementId=not-a-uuid"),
    ("POST", "/xapi/statements?unknown=1"),
    ("GET", "/xapi/activities/state"),
    ("PUT", "/xapi/agents/profile"),
    ("GET", "/xapi/no-such-resource"),
]


@pytest.mark.parametrize(("method", "path"), EVERY_REQUEST)
@pytest.mark.parametrize("authorization", [None, basic("nobody", "x"), "Basic %%%"])
def test_bad_credentials_are_401_on_every_method_and_path(
    client: TestClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    response = client.request(method, path, headers=headers, content=b"{}")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_resources_not_served_name_the_alternative(client: TestClient) -> None:
    for path in ("/xapi/statements", "/xapi/activities/state", "/xapi/agents/profile"):
        response = client.get(path, headers=HEADERS)
        assert response.status_code == 405, path
        assert "warehouse" in response.json()["error"]
        assert "an LRS in front" in response.json()["error"]
    assert client.get("/xapi/no-such-resource", headers=HEADERS).status_code == 404
    assert (
        client.post("/xapi/statements?foo=bar", headers=HEADERS, content=b"{}").status_code == 400
    )


@pytest.mark.parametrize(
    ("asked", "answered"),
    [("1.0.3", "1.0.3"), ("1.0.1", "1.0.3"), ("1.0", "1.0.3"), ("2.0.0", "2.0.0")],
)
def test_errors_carry_the_version_of_the_request(
    client: TestClient, asked: str, answered: str
) -> None:
    headers = {**HEADERS, "X-Experience-API-Version": asked}
    assert client.post("/xapi/statements", headers=headers, content=b"[").status_code == 400
    for response in (
        client.post("/xapi/statements", headers=headers, content=b"["),
        client.get("/xapi/statements", headers=headers),
        client.put("/xapi/statements", headers={**headers, "Authorization": "x"}),
    ):
        assert response.headers["X-Experience-API-Version"] == answered


def test_without_a_version_the_configured_default_answers(
    tmp_path: Path, sink: RecordingSink
) -> None:
    headers = {"Authorization": HEADERS["Authorization"]}
    for default in ("2.0.0", "1.0.3"):
        client = make_client(tmp_path, sink, lrs_default_xapi_version=default)
        response = client.post("/xapi/statements", headers=headers, content=b"{}")
        assert response.status_code == 400
        assert response.headers["X-Experience-API-Version"] == default


# ---- what a hostile client learns: nothing it should ---------------------------------------


def test_an_unknown_key_and_a_wrong_secret_take_the_same_path(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = serve_module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(serve_module.hmac, "compare_digest", spy)
    for key in ("lms-key", "no-such-key"):
        headers = {**HEADERS, "Authorization": basic(key, "guess")}
        response = client.post("/xapi/statements", headers=headers, content=b"{}")
        assert response.status_code == 401
        assert response.json()["error"] == "unknown key or wrong secret"
    assert len(compared) == 2  # one constant-time comparison each, of equal-length digests
    assert {len(a) for pair in compared for a in pair} == {32}


def test_an_internal_error_names_no_exception(client: TestClient, sink: RecordingSink) -> None:
    def broken(*args: object) -> None:
        raise KeyError("the secret internals")

    sink.produce = broken  # type: ignore[method-assign]
    response = client.post("/xapi/statements", headers=HEADERS, content=orjson.dumps(STATEMENT))
    assert response.status_code == 500
    assert response.json() == {"error": "internal error"}


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    for response in (
        client.get("/xapi/about"),
        client.post("/xapi/statements", content=orjson.dumps(STATEMENT), headers=HEADERS),
        client.get("/xapi/statements"),
        client.get("/nowhere"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_put_authenticates_before_it_reads_the_query(client: TestClient) -> None:
    response = client.put("/xapi/statements?statementId=nonsense", content=b"{}")
    assert response.status_code == 401
    headers = copy.copy(HEADERS)
    response = client.put("/xapi/statements?statementId=nonsense", content=b"{}", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "statementId must be a UUID"
