"""The HTTP server under `skillstream serve`, as a hostile network meets it.

- A request must arrive whole within `lrs_request_timeout_seconds` of the connection
  opening (or of the previous answer on it): a client that sends half a request and waits
  is answered 408 and disconnected, so slow clients cannot hold the endpoint.
- At most `lrs_max_connections` connections at once; more are answered 503.
- Every answer tells browsers not to sniff, frame, cache or refer (security headers), and
  over TLS to keep to HTTPS.
- TLS: `serve --tls-cert CERT --tls-key KEY`. HTTP Basic credentials are only as private as
  the connection: without TLS, serve only on localhost (or behind a TLS-terminating proxy).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000")
_TIMEOUT_BODY = b'{"error":"the request did not arrive in time"}'
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(_TIMEOUT_BODY)
    + _TIMEOUT_BODY
)


GRACEFUL_SHUTDOWN_SECONDS = 5


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path


class SecurityHeaders:
    """ASGI middleware: the security headers on every answer of the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*_SECURITY_HEADERS, _HSTS] if scope.get("scheme") == "https" else _SECURITY_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request to arrive whole."""

    request_timeout = 30.0
    _deadline: asyncio.TimerHandle | None = None
    _received = False  # the current request arrived whole

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._received = False

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._received = True
        self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self._answering():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _answering(self) -> bool:
        return self._received and self.cycle is not None and not self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self._answering():
            return
        if self.cycle is None or self.cycle.response_complete:  # the headers are incomplete
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


def server_config(
    app: Any, settings: Any, host: str, port: int, log_level: str, tls: Tls | None
) -> uvicorn.Config:
    protocol = type(
        "DeadlineProtocol",
        (DeadlineProtocol,),
        {"request_timeout": settings.lrs_request_timeout_seconds},
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        http=protocol,
        limit_concurrency=settings.lrs_max_connections,
        server_header=False,
        # asyncio waits up to 30 s for a TLS peer's close_notify, even a peer already gone:
        # without a bound, stopping `serve` over TLS waits for that.
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
    )
