"""`skillstream serve`: the xAPI Statements resource (writes), as an LRS client expects it.

    POST /xapi/statements          one statement or an array -> 200 ["id", ...]
    PUT  /xapi/statements?statementId=<uuid>  one statement   -> 204
    GET  /xapi/about               versions this endpoint speaks
    GET  /openapi.json             the OpenAPI description

A request is all or nothing: every statement is validated first (strict JSON, then every
rule of the xAPI data model for the version in `X-Experience-API-Version`); only when all
are valid is any produced to Kafka, keyed by learner, with the credential's source name in
the `source` header. The answer is 200 only after Kafka acknowledged every statement of the
request (acks=all, idempotent producer); when Kafka cannot be reached it is 503 with
Retry-After, never 200. A client that retries after a 503 should set statement ids itself
(as xAPI recommends): a statement sent twice with the same id lands once.
"""

from __future__ import annotations

import hmac
import logging
import re
import threading
import uuid
from base64 import b64decode
from binascii import Error as Base64Error
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from kafka.errors import KafkaError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from skillstream import kafka
from skillstream.ingestion.produce import partition_key
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


class KafkaSink:
    """Produces one request's statements and waits for every acknowledgement."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._salt = settings.learner_salt()
        self._producer: Any = None
        self._lock = threading.Lock()

    def _connected(self) -> Any:
        with self._lock:
            if self._producer is None:
                self._producer = kafka.producer(
                    self._settings,
                    linger_ms=0,  # a single statement must not wait for company
                    max_block_ms=5_000,
                    request_timeout_ms=10_000,
                    delivery_timeout_ms=15_000,
                    bootstrap_timeout_ms=5_000,
                )
            return self._producer

    def produce(self, statements: list[dict[str, Any]], source: str, origin: str) -> None:
        """Return once Kafka acknowledged every statement; KafkaUnavailable otherwise."""
        try:
            producer = self._connected()
            headers = [("source", source.encode()), ("origin", origin.encode())]
            futures = [
                producer.send(
                    self._settings.statements_topic,
                    key=partition_key(statement, self._salt),
                    value=orjson.dumps(statement),
                    headers=headers,
                )
                for statement in statements
            ]
            for future in futures:
                future.get(timeout=30)
        except KafkaError as error:
            raise kafka.KafkaUnavailable(
                f"Kafka at {self._settings.bootstrap} did not acknowledge: {error}"
            ) from None

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=10)
                self._producer = None


# ---- request handling ----------------------------------------------------------------------


def _authenticate(request: Request, credentials: dict[str, Credential]) -> Credential:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    unauthorized = ApiError(
        401, "authentication required: HTTP Basic with a source's key and secret"
    )
    unauthorized.headers["WWW-Authenticate"] = REALM
    if scheme.lower() != "basic" or not token:
        raise unauthorized
    try:
        key, _, secret = b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (Base64Error, UnicodeDecodeError, ValueError):
        raise unauthorized from None
    credential = credentials.get(key)
    if credential is None or not hmac.compare_digest(credential.secret.encode(), secret.encode()):
        unauthorized.message = "unknown key or wrong secret"
        raise unauthorized
    return credential


def _xapi_version(request: Request) -> str:
    value = request.headers.get(VERSION_HEADER)
    if value is None:
        raise ApiError(400, f"the {VERSION_HEADER} header is required (1.0.3 or 2.0.0)")
    value = value.strip()
    if not _ACCEPTED_VERSION.match(value):
        raise ApiError(400, f"{VERSION_HEADER} {value!r} is not supported; use 1.0.x or 2.0.0")
    return value


async def _body(request: Request, limit: int) -> bytes:
    too_large = ApiError(413, f"the request is larger than {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
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
        if not isinstance(statement, dict):
            continue
        for position, attachment in enumerate(statement.get("attachments") or []):
            if isinstance(attachment, dict) and "fileUrl" not in attachment:
                reasons.append(
                    _prefixed(
                        prefix,
                        f"attachments[{position}].fileUrl: is required, as this endpoint "
                        "takes no multipart attachment data",
                    )
                )
        statement_id = statement.get("id")
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


def prepare(
    body: bytes, single: bool, statement_id: str | None, version: str, credential: Credential
) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse and validate a whole request, then stamp its statements; ApiError if any
    statement is invalid (and then none is accepted)."""
    try:
        document = loads(body)
    except JsonInputError as error:
        raise ApiError(400, "the body is not valid JSON", [f"$: {error}"]) from None
    statements = _statements_of(document, single)
    if statement_id is not None and isinstance(statements[0], dict):
        given = statements[0].get("id")
        if given is not None and str(given).lower() != statement_id.lower():
            raise ApiError(400, "the statement's id differs from statementId")
        statements[0].setdefault("id", statement_id)
    reasons = _request_reasons(
        statements, version, prefixed=not single and isinstance(document, list)
    )
    if reasons:
        raise ApiError(400, "invalid statement(s); none was accepted", reasons)
    now = _now()
    ids = [_stamp(statement, credential, version, now) for statement in statements]
    return statements, ids


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error_response(error: ApiError, version: str = "2.0.0") -> JSONResponse:
    body: dict[str, Any] = {"error": error.message}
    if error.reasons:
        body["reasons"] = error.reasons
    return JSONResponse(
        body,
        status_code=error.status,
        headers={VERSION_HEADER: version, **error.headers},
    )


# ---- the application -----------------------------------------------------------------------


def create_app(settings: Settings, sink: KafkaSink | None = None) -> FastAPI:
    credentials = parse_credentials(settings.lrs_credentials)
    if not credentials:
        raise ValueError("no credentials: set SKILLSTREAM_LRS_CREDENTIALS=source:key:secret[,...]")
    sink = sink or KafkaSink(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(sink.close)

    app = FastAPI(
        lifespan=lifespan,
        title="skillstream xAPI endpoint",
        version=package_version("skillstream"),
        description=(__doc__ or "").split("\n\n")[0],
        docs_url=None,
        redoc_url=None,
    )
    app.state.sink = sink
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = default_openapi()
            document.setdefault("components", {}).setdefault("schemas", {}).update(definitions())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return _error_response(error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        message = "method not allowed" if error.status_code == 405 else str(error.detail).lower()
        return _error_response(ApiError(error.status_code, message, headers=headers))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        return _error_response(ApiError(500, f"internal error: {type(error).__name__}"))

    async def accept(request: Request, single: bool, statement_id: str | None) -> list[str]:
        credential = _authenticate(request, credentials)
        version = _xapi_version(request)
        content_type = request.headers.get("content-type", "application/json").lower()
        if content_type.startswith("multipart/"):
            raise ApiError(400, "multipart requests are not supported: send attachments by fileUrl")
        body = await _body(request, settings.lrs_max_request_bytes)
        if len(body) > _INLINE_BODY_BYTES:  # keep the event loop free for other requests
            statements, ids = await run_in_threadpool(
                prepare, body, single, statement_id, version, credential
            )
        else:
            statements, ids = prepare(body, single, statement_id, version, credential)
        origin = f"http {request.client.host if request.client else '-'} {credential.key}"
        try:
            await run_in_threadpool(sink.produce, statements, credential.source, origin)
        except kafka.KafkaUnavailable as error:
            log.warning("503: %s", error)
            raise ApiError(
                503,
                "Kafka cannot be reached or did not acknowledge every statement; retry later",
                headers={"Retry-After": str(settings.lrs_retry_after_seconds)},
            ) from None
        return ids

    statement_body = openapi_request_body()

    @app.post(
        "/xapi/statements",
        summary="Store one statement or an array of statements",
        openapi_extra={"requestBody": statement_body},
        responses={
            200: {"description": "the ids of the stored statements, in request order"},
            400: {"description": "invalid request: reasons name the JSON path and rule"},
            401: {"description": "no or wrong HTTP Basic credentials"},
            413: {"description": "larger than lrs_max_request_bytes"},
            503: {"description": "Kafka cannot be reached; see Retry-After"},
        },
    )
    async def post_statements(request: Request) -> JSONResponse:
        ids = await accept(request, single=False, statement_id=None)
        return JSONResponse(ids, headers={VERSION_HEADER: _answer_version(request)})

    @app.put(
        "/xapi/statements",
        summary="Store one statement with the given id",
        status_code=204,
        openapi_extra={"requestBody": openapi_request_body(single=True)},
    )
    async def put_statement(request: Request, statementId: str | None = None) -> Response:  # noqa: N803
        if statementId is None:
            _authenticate(request, credentials)
            raise ApiError(400, "PUT needs the statementId query parameter")
        if not formats.is_uuid(statementId):
            raise ApiError(400, "statementId must be a UUID")
        await accept(request, single=True, statement_id=statementId)
        return Response(status_code=204, headers={VERSION_HEADER: _answer_version(request)})

    @app.api_route(
        "/xapi/statements",
        methods=["GET", "DELETE", "PATCH"],
        include_in_schema=False,
    )
    async def statements_not_allowed(request: Request) -> JSONResponse:
        raise ApiError(
            405,
            f"{request.method} is not supported: this endpoint only stores statements "
            "(POST, PUT); query the warehouse or dashboards instead",
            headers={"Allow": "POST, PUT"},
        )

    @app.get("/xapi/about", summary="The xAPI versions this endpoint speaks")
    async def about(request: Request) -> JSONResponse:
        # 1.0.x clients (TinCanPython among them) refuse a version list with 2.0.0 in it,
        # so a client that asks in 1.0.x hears the 1.0.x versions only.
        asked = request.headers.get(VERSION_HEADER, "")
        versions = ABOUT_1_0 if asked.startswith("1.") else (*ABOUT_1_0, "2.0.0")
        return JSONResponse(
            {
                "version": list(versions),
                "extensions": {
                    "https://w3id.org/skillstream/ext/about": {
                        "name": "skillstream",
                        "version": package_version("skillstream"),
                        "resources": ["statements (POST, PUT)"],
                    }
                },
            },
            headers={VERSION_HEADER: _answer_version(request)},
        )

    return app


def _answer_version(request: Request) -> str:
    asked = request.headers.get(VERSION_HEADER, "2.0.0")
    return "1.0.3" if asked.startswith("1.") else "2.0.0"


def serve(settings: Settings, host: str, port: int, log_level: str = "info") -> None:
    import uvicorn

    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")
