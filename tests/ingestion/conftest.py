"""Fixtures of the ingestion tests: `skillstream serve` as a real process."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from skillstream.broker import free_port
from skillstream.ingestion.sources import Checkpoint, RawEvent
from skillstream.settings import Settings

CREDENTIALS = "moodle:lms-key:s3cret,tutor:bot-key:t0ken"


@dataclass
class Server:
    url: str  # the xAPI base, ending in /xapi/
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None


def start_server(settings: Settings, log: Path, **overrides: str) -> Server:
    """`skillstream serve` in a child process, as a user starts it; waits until it answers."""
    port = free_port()
    env = {
        **os.environ,
        **settings.as_env(),
        "SKILLSTREAM_LRS_CREDENTIALS": CREDENTIALS,
        **{f"SKILLSTREAM_{k.upper()}": v for k, v in overrides.items()},
    }
    handle = log.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skillstream.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/xapi/"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url + "about", timeout=1).status_code == 200:
                return Server(url, process, log)
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def lrs_server(pipeline_settings: Settings, tmp_path: Path) -> Iterator[Server]:
    server = start_server(pipeline_settings, tmp_path / "serve.log")
    try:
        yield server
    finally:
        stop_server(server)


def events_only(items: Iterable[RawEvent | Checkpoint]) -> list[RawEvent]:
    """The events of a source's output, without its checkpoints."""
    return [item for item in items if isinstance(item, RawEvent)]


def self_signed_certificate(
    common_name: str, ip_address: str | None = None
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A fresh RSA key and a certificate it signs itself, valid a day either side of now;
    with `ip_address`, named for that address too (a TLS server's)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if ip_address is not None:
        address = x509.IPAddress(ipaddress.ip_address(ip_address))
        builder = builder.add_extension(x509.SubjectAlternativeName([address]), critical=False)
    return key, builder.sign(key, hashes.SHA256())
