"""`skillstream serve` on a real socket, as a hostile or careless network client meets it:
an oversized body, a client that sends half a request and waits, too many connections, TLS.

The server is the real uvicorn configuration (`serve_http.server_config`) in a thread; the
Kafka sink is a recorder (tests/ingestion/test_serve_kafka.py runs the real broker)."""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import requests
from cryptography.hazmat.primitives import serialization
from uvicorn import Server

from skillstream.broker import free_port
from skillstream.ingestion.serve import create_app
from skillstream.ingestion.serve_http import Tls, server_config
from tests.conftest import make_settings
from tests.ingestion.conftest import self_signed_certificate
from tests.ingestion.test_serve import HEADERS, STATEMENT, RecordingSink


@contextmanager
def running(tmp_path: Path, tls: Tls | None = None, **overrides: str) -> Iterator[int]:
    """The endpoint on 127.0.0.1:<port> until the block ends; yields the port."""
    settings = make_settings(tmp_path, lrs_credentials="moodle:lms-key:s3cret", **overrides)
    port = free_port()
    config = server_config(
        create_app(settings, RecordingSink()), settings, "127.0.0.1", port, "warning", tls
    )
    server = Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        server.force_exit = True  # not the graceful wait: asyncio holds closed TLS connections
        thread.join(timeout=20)


def post_statement(port: int) -> int:
    response = requests.post(
        f"http://127.0.0.1:{port}/xapi/statements",
        data=orjson.dumps(STATEMENT),
        headers={**HEADERS, "Content-Type": "application/json"},
        timeout=10,
    )
    return response.status_code


def test_a_client_that_sends_everything_first_hears_the_413(tmp_path: Path) -> None:
    limit = 100_000
    with running(tmp_path, lrs_max_request_bytes=str(limit)) as port:
        for size, chunked in ((limit + 1, False), (100 * limit, False), (100 * limit, True)):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            # http.client sends the whole body before it reads the answer; 10 MB fill the
            # socket buffers, so unless the server reads them the client is reset mid-send.
            body = b" " * size
            pieces = iter([body[n : n + 65536] for n in range(0, size, 65536)])
            connection.request(
                "POST",
                "/xapi/statements",
                body=pieces if chunked else body,
                headers=HEADERS,
                encode_chunked=chunked,
            )
            response = connection.getresponse()
            assert response.status == 413
            assert f"larger than {limit} bytes" in orjson.loads(response.read())["error"]
            connection.close()
        assert post_statement(port) == 200


def read_until_closed(sock: socket.socket, seconds: float) -> bytes:
    sock.settimeout(seconds)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_a_slow_client_is_answered_408_and_let_go(tmp_path: Path) -> None:
    with running(tmp_path, lrs_request_timeout_seconds="1") as port:
        half_headers = socket.create_connection(("127.0.0.1", port))
        half_headers.sendall(b"POST /xapi/statements HTTP/1.1\r\nHost: x\r\nContent-Le")
        half_body = socket.create_connection(("127.0.0.1", port))
        half_body.sendall(
            b"POST /xapi/statements HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
        )
        silent = socket.create_connection(("127.0.0.1", port))
        assert post_statement(port) == 200  # others are served meanwhile
        started = time.monotonic()
        assert read_until_closed(half_headers, 10).startswith(b"HTTP/1.1 408 ")
        assert read_until_closed(silent, 10).startswith(b"HTTP/1.1 408 ")
        read_until_closed(half_body, 10)  # the application saw the client go: closed
        assert time.monotonic() - started < 5
        for sock in (half_headers, half_body, silent):
            sock.close()


def test_connections_beyond_the_limit_are_503(tmp_path: Path) -> None:
    with running(tmp_path, lrs_max_connections="3") as port:
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        time.sleep(0.2)
        assert post_statement(port) == 503
        for sock in held:
            sock.close()
        time.sleep(0.2)
        assert post_statement(port) == 200


def self_signed(directory: Path) -> Tls:
    key, certificate = self_signed_certificate("127.0.0.1", ip_address="127.0.0.1")
    tls = Tls(directory / "cert.pem", directory / "key.pem")
    tls.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return tls


def test_tls(tmp_path: Path) -> None:
    tls = self_signed(tmp_path)
    with running(tmp_path, tls=tls) as port:
        with requests.Session() as session:
            response = session.post(
                f"https://127.0.0.1:{port}/xapi/statements",
                data=orjson.dumps(STATEMENT),
                headers={**HEADERS, "Content-Type": "application/json"},
                verify=str(tls.cert),
                timeout=10,
            )
        assert response.status_code == 200, response.text
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        with socket.create_connection(("127.0.0.1", port)) as plain:  # no TLS: no answer
            plain.sendall(b"GET /xapi/about HTTP/1.1\r\nHost: x\r\n\r\n")
            assert not read_until_closed(plain, 10).startswith(b"HTTP/1.1 200")
        context = ssl.create_default_context(cafile=str(tls.cert))
        connection = socket.create_connection(("127.0.0.1", port))
        with context.wrap_socket(connection, server_hostname="127.0.0.1") as secure:
            assert secure.version() in ("TLSv1.2", "TLSv1.3")


def test_serve_speaks_https_with_tls_cert_and_key(tmp_path: Path) -> None:
    tls = self_signed(tmp_path)
    settings = make_settings(tmp_path, lrs_credentials="moodle:lms-key:s3cret")
    env = {**os.environ, **settings.as_env()}
    command = [sys.executable, "-m", "skillstream.cli", "serve", "--host", "127.0.0.1"]
    half = subprocess.run(
        [*command, "--tls-cert", str(tls.cert)], env=env, capture_output=True, text=True
    )
    assert half.returncode != 0
    assert "--tls-cert and --tls-key go together" in half.stderr
    port = free_port()
    tls_args = ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
    process = subprocess.Popen(
        [*command, "--port", str(port), *tls_args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                about = requests.get(
                    f"https://127.0.0.1:{port}/xapi/about", verify=str(tls.cert), timeout=2
                )
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert about.status_code == 200
        assert about.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        process.terminate()
        process.wait(timeout=15)
