"""`skillstream serve`: the xAPI Statements resource (writes), as an LRS client expects it.

    POST /xapi/statements          one statement or an array -> 200 ["id", ...]
    PUT  /xapi/statements?statementId=<uuid>  one statement   -> 204
    GET  /xapi/about               versions this endpoint speaks
    GET  /openapi.json             the OpenAPI description

Statements come as JSON, as multipart/mixed with attachment data (serve_attachments), or
in the xAPI 1.0.x alternate request syntax (a form-encoded POST carrying the method).
Every request is authenticated before anything else is looked at; every other resource
and method is answered 405 naming the alternatives: this is an analytics sink, it serves
nothing back (docs/validation.md).

A request is all or nothing: every statement is validated first (strict JSON, then every
rule of the xAPI data model for the version in `X-Experience-API-Version`, then the
attachments and signatures); only when all are valid is any produced to Kafka, keyed by
learner, with the credential's source name in the `source` header. The answer is 200 only
after Kafka acknowledged every statement of the request (acks=all, idempotent producer);
when Kafka cannot be reached it is 503 with Retry-After, never 200. A client that retries
after a 503 should set statement ids itself (as xAPI recommends): a statement sent twice
with the same id lands once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
import uuid
from base64 import b64decode
from binascii import Error as Base64Error
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from typing import Any
from urllib.parse import parse_qsl

import orjson
from confluent_kafka import KafkaException
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from skillstream import kafka
from skillstream.ingestion.produce import partition_key
from skillstream.ingestion.serve_attachments import (
    AttachmentStore,
    BadAttachments,
    check_signatures,
    match_parts,
    split_multipart,
    without_signatures,
)
from skillstream.ingestion.serve_http import SecurityHeaders, Tls, server_config
from skillstream.settings import Settings
from skillstream.xapi import formats
from skillstream.xapi.schema import definitions, openapi_request_body
from skillstream.xapi.strict_json import JsonInputError, loads
from skillstream.xapi.validate import validate_statement

log = logging.getLogger("skillstream.serve")

VERSION_HEADER = "X-Experience-API-Version"
ABOUT_1_0 = ("1.0.0", "1.0.1", "1.0.2", "1.0.3")
_ACCEPTED_VERSION = re.compile(r"(?:1\.0(?:\.\d+)?|2\.0\.0)\Z")
AUTHORITY_HOME_PAGE = "https://w3id.org/skillstream/source"
REALM = 'Basic realm="skillstream xAPI"'
_INLINE_BODY_BYTES = 64 * 1024  # larger bodies are parsed and validated off the event loop


@dataclass(frozen=True)
class Credential:
    source: str
    key: str
    secret: str


def parse_credentials(text: str) -> dict[str, Credential]:
    """`source:key:secret[,source:key:secret...]` -> credentials by key."""
    credentials: dict[str, Credential] = {}
    for number, item in enumerate(filter(None, (part.strip() for part in text.split(","))), 1):
        parts = item.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(
                f"SKILLSTREAM_LRS_CREDENTIALS entry {number}: expected source:key:secret"
            )
        source, key, secret = parts
        if key in credentials:
            raise ValueError(f"SKILLSTREAM_LRS_CREDENTIALS: key {key!r} appears twice")
        credentials[key] = Credential(source, key, secret)
    return credentials


class ApiError(Exception):
    """An answer other than success: status, a one-line summary, the reasons."""

    def __init__(
        self,
        status: int,
        message: str,
        reasons: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reasons = reasons or []
        self.headers = headers or {}


class _Acknowledgements:
    """The delivery reports of one request's sends, from whichever thread polls."""

    def __init__(self, sends: int) -> None:
        self._left = sends
        self._lock = threading.Lock()
        self.errors: list[str] = []

    def delivered(self, error: Any, message: Any) -> None:
        with self._lock:
            self._left -= 1
            if error is not None:
                self.errors.append(error.str())

    def all_reported(self) -> bool:
        return self._left == 0


class KafkaSink:
    """Produces one request's statements and waits for every acknowledgement (librdkafka,
    `kafka.librdkafka_producer`: acks=all, idempotent). Requests share the producer, so the
    statements of concurrent requests travel in the same batches."""

    ACK_TIMEOUT_S = 30.0

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._salt = settings.learner_salt()
        self._producer: Any = None
        self._lock = threading.Lock()

    def _connected(self) -> Any:
        with self._lock:
            if self._producer is None:
                self._producer = kafka.librdkafka_producer(
                    self._settings,
                    bootstrap_timeout_s=5.0,
                    **{
                        "linger.ms": 1,  # a single statement must not wait for company
                        "message.timeout.ms": 15_000,
                        "socket.timeout.ms": 10_000,
                    },
                )
            return self._producer

    def produce(self, statements: list[dict[str, Any]], source: str, origin: str) -> None:
        """Return once Kafka acknowledged every statement; KafkaUnavailable otherwise."""
        producer = self._connected()
        headers = [("source", source.encode()), ("origin", origin.encode())]
        acknowledgements = _Acknowledgements(len(statements))
        try:
            for statement in statements:
                producer.produce(
                    self._settings.statements_topic,
                    orjson.dumps(statement),
                    partition_key(statement, self._salt),
                    headers=headers,
                    on_delivery=acknowledgements.delivered,
                )
        except (BufferError, KafkaException) as error:
            raise self._unavailable(str(error)) from None
        deadline = time.monotonic() + self.ACK_TIMEOUT_S
        while not acknowledgements.all_reported():  # any thread's poll serves every report
            if time.monotonic() > deadline:
                raise self._unavailable(f"no acknowledgement within {self.ACK_TIMEOUT_S:.0f} s")
            producer.poll(0.005)
        if acknowledgements.errors:
            raise self._unavailable(acknowledgements.errors[0])

    def _unavailable(self, reason: str) -> kafka.KafkaUnavailable:
        return kafka.KafkaUnavailable(
            f"Kafka at {self._settings.bootstrap} did not acknowledge: {reason}"
        )

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.flush(10)
                self._producer = None


# ---- request handling ----------------------------------------------------------------------


class Gate:
    """HTTP Basic against the configured credentials. An unknown key costs what a wrong
    secret costs: both compare the given secret with one of the same kind (a random dummy
    for an unknown key), so timing does not tell which keys exist."""

    def __init__(self, credentials: dict[str, Credential]) -> None:
        self._credentials = credentials
        self._dummy = Credential("-", "-", secrets.token_urlsafe(32))

    def check(self, authorization: str | None) -> Credential:
        unauthorized = ApiError(
            401,
            "authentication required: HTTP Basic with a source's key and secret",
            headers={"WWW-Authenticate": REALM},
        )
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "basic" or not token:
            raise unauthorized
        try:
            key, _, secret = b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (Base64Error, UnicodeDecodeError, ValueError):
            raise unauthorized from None
        credential = self._credentials.get(key)
        expected = (credential or self._dummy).secret
        matches = hmac.compare_digest(_digest(expected), _digest(secret))
        if credential is None or not matches:
            unauthorized.message = "unknown key or wrong secret"
            raise unauthorized
        return credential


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def _xapi_version(value: str | None) -> str:
    if value is None:
        raise ApiError(400, f"the {VERSION_HEADER} header is required (1.0.3 or 2.0.0)")
    value = value.strip()
    if not _ACCEPTED_VERSION.match(value):
        raise ApiError(400, f"{VERSION_HEADER} {value!r} is not supported; use 1.0.x or 2.0.0")
    return value


def _answer_version(asked: str | None, default: str) -> str:
    """The version an answer carries: the latest patch of the version asked in."""
    asked = (asked or "").strip()
    if asked.startswith("1."):
        return "1.0.3"
    if asked.startswith("2."):
        return "2.0.0"
    return default


async def _body(request: Request, limit: int) -> bytes:
    """The body, at most `limit` bytes; 413 as soon as more arrived. The answer waits for
    the body to start arriving, even when Content-Length already says it is too large:
    uvicorn then reads and discards the rest, so a client that sends everything before it
    reads (http.client, TinCanPython) hears the 413 instead of a reset connection."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the request is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _statements_of(document: Any, single: bool) -> list[Any]:
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list) and not single:
        if not document:
            raise ApiError(400, "the array holds no statements")
        return document
    expected = "a statement object" if single else "a statement object or an array of them"
    raise ApiError(400, f"the body must be {expected}")


def _request_reasons(statements: list[Any], version: str, prefixed: bool) -> list[str]:
    """Every reason the request cannot be accepted; empty when all statements are valid."""
    reasons: list[str] = []
    seen: dict[str, int] = {}
    for index, statement in enumerate(statements):
        prefix = f"[{index}]" if prefixed else ""
        for error in validate_statement(statement, version=version):
            reasons.append(_prefixed(prefix, error))
        statement_id = statement.get("id") if isinstance(statement, dict) else None
        if isinstance(statement_id, str):
            normal = statement_id.lower()
            if normal in seen:
                reasons.append(
                    _prefixed(prefix, f"id: repeats the id of statement [{seen[normal]}]")
                )
            seen.setdefault(normal, index)
    return reasons


def _prefixed(prefix: str, error: str) -> str:
    if not prefix:
        return error
    return f"{prefix}{error[1:]}" if error.startswith("$") else f"{prefix}.{error}"


def _stamp(statement: dict[str, Any], credential: Credential, version: str, now: str) -> str:
    """Set what the LRS sets: id when absent, stored, authority, version when absent."""
    statement_id = statement.get("id") or str(uuid.uuid4())
    statement["id"] = statement_id
    statement["stored"] = now
    statement.setdefault("timestamp", now)
    statement["authority"] = {
        "objectType": "Agent",
        "name": credential.source,
        "account": {"homePage": AUTHORITY_HOME_PAGE, "name": credential.source},
    }
    statement.setdefault("version", "2.0.0" if version.startswith("2.") else "1.0.3")
    return str(statement_id)


@dataclass(frozen=True)
class Submission:
    """One request to store statements, however it arrived (headers or the form of the
    alternate request syntax)."""

    body: bytes
    content_type: str
    single: bool
    statement_id: str | None
    version: str
    credential: Credential


@dataclass
class Prepared:
    statements: list[dict[str, Any]]
    ids: list[str]
    attachments: dict[str, bytes]  # data by sha2


def prepare(submission: Submission) -> Prepared:
    """Parse and validate a whole request, then stamp its statements; ApiError if any
    statement or attachment is invalid (and then none is accepted)."""
    content_type = submission.content_type.lower()
    body, parts = submission.body, []
    try:
        if content_type.startswith("multipart/mixed"):
            body, parts = split_multipart(body, submission.content_type)
        elif content_type.startswith("multipart/"):
            raise ApiError(400, "a multipart request must be multipart/mixed")
        statements = _parsed(body, submission)
        data = match_parts(statements, parts)
        check_signatures(statements, data)
        data = without_signatures(statements, data)
    except BadAttachments as error:
        raise ApiError(400, error.message, error.reasons) from None
    now = _now()
    ids = [
        _stamp(statement, submission.credential, submission.version, now)
        for statement in statements
    ]
    return Prepared(statements, ids, data)


def _parsed(body: bytes, submission: Submission) -> list[dict[str, Any]]:
    try:
        document = loads(body)
    except JsonInputError as error:
        raise ApiError(400, "the body is not valid JSON", [f"$: {error}"]) from None
    statements = _statements_of(document, submission.single)
    statement_id = submission.statement_id
    if statement_id is not None and isinstance(statements[0], dict):
        given = statements[0].get("id")
        if given is not None and str(given).lower() != statement_id.lower():
            raise ApiError(400, "the statement's id differs from statementId")
        statements[0].setdefault("id", statement_id)
    prefixed = not submission.single and isinstance(document, list)
    reasons = _request_reasons(statements, submission.version, prefixed)
    if reasons:
        raise ApiError(400, "invalid statement(s); none was accepted", reasons)
    return statements


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error_response(error: ApiError, version: str) -> JSONResponse:
    body: dict[str, Any] = {"error": error.message}
    if error.reasons:
        body["reasons"] = error.reasons
    return JSONResponse(
        body,
        status_code=error.status,
        headers={VERSION_HEADER: version, **error.headers},
    )


# Resources of an LRS this endpoint does not serve, and why (docs/validation.md).
NOT_SERVED = (
    "this endpoint is an analytics sink: it stores statements (POST, PUT /xapi/statements) "
    "and keeps no identity, so it serves no statements, State, profiles, Agents or "
    "Activities back; read the results in the warehouse or dashboards, or put an LRS in "
    "front that forwards statements here (or that `skillstream ingest lrs` pulls from)"
)
_XAPI_RESOURCES = frozenset(
    {
        "statements",
        "activities",
        "activities/state",
        "activities/profile",
        "agents",
        "agents/profile",
        "about",
    }
)
_FORM_HEADERS = ("authorization", "x-experience-api-version", "content-type")


def _not_served(method: str, resource: str) -> ApiError:
    resource = resource.strip("/")
    if resource == "statements":
        message = f"{method} /xapi/statements is not supported: {NOT_SERVED}"
        return ApiError(405, message, headers={"Allow": "POST, PUT"})
    if resource == "about":
        return ApiError(405, "/xapi/about answers GET only", headers={"Allow": "GET"})
    if resource in _XAPI_RESOURCES:
        message = f"the {resource} resource is not served: {NOT_SERVED}"
        return ApiError(405, message, headers={"Allow": ""})
    return ApiError(404, f"no such resource: /xapi/{resource}")


def _statement_id(value: str | None) -> str:
    if value is None:
        raise ApiError(400, "PUT needs the statementId parameter")
    if not formats.is_uuid(value):
        raise ApiError(400, "statementId must be a UUID")
    return value


def _known_parameters(request: Request, known: set[str]) -> None:
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ApiError(400, f"unknown parameter(s): {', '.join(unknown)}")


def _form(body: bytes) -> dict[str, str]:
    """The form of the alternate request syntax; header names in lower case."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=64)
    except (UnicodeDecodeError, ValueError) as error:
        raise ApiError(400, f"the form body cannot be read: {error}") from None
    return {(k.lower() if k.lower() in _FORM_HEADERS else k): v for k, v in pairs}


# ---- the application -----------------------------------------------------------------------


def _checked(settings: Settings) -> dict[str, Credential]:
    """The credentials, once the settings serve needs are known to be usable."""
    credentials = parse_credentials(settings.lrs_credentials)
    if not credentials:
        raise ValueError("no credentials: set SKILLSTREAM_LRS_CREDENTIALS=source:key:secret[,...]")
    if settings.lrs_attachments not in ("store", "drop"):
        raise ValueError(
            f"lrs_attachments: expected store or drop, got {settings.lrs_attachments!r}"
        )
    if settings.lrs_default_xapi_version not in ("1.0.3", "2.0.0"):
        raise ValueError(
            "lrs_default_xapi_version: expected 1.0.3 or 2.0.0, "
            f"got {settings.lrs_default_xapi_version!r}"
        )
    return credentials


class StatementsResource:
    """The handlers of the endpoint's routes and what they share: credentials first, then
    the version, then the resource, the query and the body."""

    def __init__(self, settings: Settings, sink: KafkaSink) -> None:
        self.gate = Gate(_checked(settings))
        self.sink = sink
        self.store = AttachmentStore(
            settings.attachments_dir, keep=settings.lrs_attachments == "store"
        )
        self.limit = settings.lrs_max_request_bytes
        self.default_version = settings.lrs_default_xapi_version
        self.retry_after = str(settings.lrs_retry_after_seconds)

    def version_of(self, request: Request) -> str:
        """The version an answer to this request carries."""
        known = getattr(request.state, "xapi_version", None)
        return known or _answer_version(request.headers.get(VERSION_HEADER), self.default_version)

    def admit(
        self, request: Request, authorization: str | None, asked: str | None
    ) -> tuple[Credential, str]:
        credential = self.gate.check(authorization)
        version = _xapi_version(asked)
        request.state.xapi_version = _answer_version(version, self.default_version)
        return credential, version

    def admit_by_headers(self, request: Request) -> tuple[Credential, str]:
        headers = request.headers
        return self.admit(request, headers.get("authorization"), headers.get(VERSION_HEADER))

    async def accept(self, request: Request, submission: Submission) -> list[str]:
        """Validate, store attachment data, produce; the statements' ids."""
        if len(submission.body) > _INLINE_BODY_BYTES:  # keep the event loop free for others
            prepared = await run_in_threadpool(prepare, submission)
        else:
            prepared = prepare(submission)
        if prepared.attachments:
            await run_in_threadpool(self.store.put, prepared.attachments)
        credential = submission.credential
        origin = f"http {request.client.host if request.client else '-'} {credential.key}"
        try:
            await run_in_threadpool(
                self.sink.produce, prepared.statements, credential.source, origin
            )
        except kafka.KafkaUnavailable as error:
            log.warning("503: %s", error)
            raise ApiError(
                503,
                "Kafka cannot be reached or did not acknowledge every statement; retry later",
                headers={"Retry-After": self.retry_after},
            ) from None
        return prepared.ids

    def answer(self, request: Request, ids: list[str] | None) -> Response:
        headers = {VERSION_HEADER: self.version_of(request)}
        if ids is None:
            return Response(status_code=204, headers=headers)
        return JSONResponse(ids, headers=headers)

    async def post(self, request: Request) -> Response:
        if "method" in request.query_params:
            return await self.alternate(request)
        credential, version = self.admit_by_headers(request)
        _known_parameters(request, set())
        submission = Submission(
            body=await _body(request, self.limit),
            content_type=request.headers.get("content-type", "application/json"),
            single=False,
            statement_id=None,
            version=version,
            credential=credential,
        )
        return self.answer(request, await self.accept(request, submission))

    async def put(self, request: Request) -> Response:
        credential, version = self.admit_by_headers(request)
        _known_parameters(request, {"statementId"})
        submission = Submission(
            body=await _body(request, self.limit),
            content_type=request.headers.get("content-type", "application/json"),
            single=True,
            statement_id=_statement_id(request.query_params.get("statementId")),
            version=version,
            credential=credential,
        )
        await self.accept(request, submission)
        return self.answer(request, None)

    async def alternate(self, request: Request) -> Response:
        """xAPI 1.0.3 Communication 1.3: the method in the query, all else in the form."""
        method = request.query_params["method"].upper()
        form = _form(await _body(request, self.limit))
        credential, version = self.admit(
            request,
            form.get("authorization") or request.headers.get("authorization"),
            form.get("x-experience-api-version") or request.headers.get(VERSION_HEADER),
        )
        if not version.startswith("1."):
            raise ApiError(400, "the alternate request syntax (method=) is xAPI 1.0.x only")
        if set(request.query_params) != {"method"}:
            raise ApiError(400, "with method=, every other parameter goes in the form body")
        if method not in ("POST", "PUT"):
            raise _not_served(method, "statements")
        single = method == "PUT"
        submission = Submission(
            body=form.get("content", "").encode("utf-8"),
            content_type=form.get("content-type", "application/json"),
            single=single,
            statement_id=_statement_id(form.get("statementId")) if single else None,
            version=version,
            credential=credential,
        )
        ids = await self.accept(request, submission)
        return self.answer(request, None if single else ids)

    async def about(self, request: Request) -> JSONResponse:
        # 1.0.x clients (TinCanPython among them) refuse a version list with 2.0.0 in it,
        # so a client that asks in 1.0.x hears the 1.0.x versions only.
        asked = request.headers.get(VERSION_HEADER, "")
        versions = ABOUT_1_0 if asked.startswith("1.") else (*ABOUT_1_0, "2.0.0")
        extension = {
            "name": "skillstream",
            "version": package_version("skillstream"),
            "resources": ["statements (POST, PUT)"],
        }
        return JSONResponse(
            {
                "version": list(versions),
                "extensions": {"https://w3id.org/skillstream/ext/about": extension},
            },
            headers={VERSION_HEADER: self.version_of(request)},
        )

    async def not_served(self, request: Request, resource: str) -> Response:
        self.admit_by_headers(request)
        raise _not_served(request.method, resource)


def create_app(settings: Settings, sink: KafkaSink | None = None) -> FastAPI:
    resource = StatementsResource(settings, sink or KafkaSink(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(resource.sink.close)

    app = FastAPI(
        lifespan=lifespan,
        title="skillstream xAPI endpoint",
        version=package_version("skillstream"),
        description=(__doc__ or "").split("\n\n")[0],
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(SecurityHeaders)
    app.state.sink = resource.sink
    _publish_schemas(app)
    _answer_errors(app, resource.version_of)
    app.add_api_route(
        "/xapi/statements",
        resource.post,
        methods=["POST"],
        summary="Store one statement or an array of statements",
        openapi_extra={"requestBody": openapi_request_body()},
        responses={
            200: {"description": "the ids of the stored statements, in request order"},
            400: {"description": "invalid request: reasons name the JSON path and rule"},
            401: {"description": "no or wrong HTTP Basic credentials"},
            413: {"description": "larger than lrs_max_request_bytes"},
            503: {"description": "Kafka cannot be reached; see Retry-After"},
        },
    )
    app.add_api_route(
        "/xapi/statements",
        resource.put,
        methods=["PUT"],
        summary="Store one statement with the given id (the statementId query parameter)",
        status_code=204,
        openapi_extra={"requestBody": openapi_request_body(single=True)},
    )
    app.add_api_route(
        "/xapi/about",
        resource.about,
        methods=["GET"],
        summary="The xAPI versions this endpoint speaks",
    )
    app.add_api_route(
        "/xapi/{resource:path}",
        resource.not_served,
        methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"],
        include_in_schema=False,
    )
    return app


def _answer_errors(app: FastAPI, version_of: Callable[[Request], str]) -> None:
    """Every error as `{"error": ..., "reasons": [...]}` in the request's version."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return _error_response(error, version_of(request))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        message = "method not allowed" if error.status_code == 405 else str(error.detail).lower()
        return _error_response(
            ApiError(error.status_code, message, headers=headers), version_of(request)
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        return _error_response(ApiError(500, "internal error"), version_of(request))


def _publish_schemas(app: FastAPI) -> None:
    """The OpenAPI description carries the data model's JSON Schema."""
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = default_openapi()
            document.setdefault("components", {}).setdefault("schemas", {}).update(definitions())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def serve(
    settings: Settings,
    host: str,
    port: int,
    log_level: str = "info",
    tls: Tls | None = None,
) -> None:
    import uvicorn

    config = server_config(create_app(settings), settings, host, port, log_level, tls)
    uvicorn.Server(config).run()
