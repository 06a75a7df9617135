"""The `lrs` source pulls from a real second LRS: Ralph (`ralph runserver`, file-system
backend) on its own port, with HTTP Basic credentials made by `ralph auth`."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import requests

from skillstream.broker import free_port
from skillstream.ingestion import run as run_module
from skillstream.ingestion.sources import Checkpoint, StatementSource
from skillstream.ingestion.sources import lrs as lrs_source
from skillstream.ingestion.sources.lrs.helpers import Client, Endpoint, LrsPullError
from skillstream.settings import Settings
from tests.conftest import run_cli
from tests.ingestion.test_ingest_file import read_topic

pytestmark = pytest.mark.integration

USER, PASSWORD = "puller", "pull-secret"


@dataclass
class Ralph:
    url: str  # xAPI base
    process: subprocess.Popen
    data: Path

    def store_later(self, statements: list[dict]) -> list[str]:
        """New statements in the LRS after the first POST. Ralph's file-system backend
        refuses a second POST ("already exists and overwrite is not allowed"), so they
        are appended to its store as Ralph writes them (stored and authority set)."""
        stored = datetime.now(UTC).isoformat()
        with (self.data / "fs_lrs.jsonl").open("ab") as handle:
            for statement in statements:
                record = dict(statement, stored=stored, timestamp=stored)
                record["authority"] = {"mbox": "mailto:puller@example.com", "objectType": "Agent"}
                handle.write(orjson.dumps(record) + b"\n")
        return [s["id"] for s in statements]

    def post(self, statements: list[dict]) -> list[str]:
        response = requests.post(
            self.url + "statements",
            json=statements,
            auth=(USER, PASSWORD),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def ralph(tools_bin: Path, tmp_path: Path) -> Iterator[Ralph]:
    home = tmp_path / "ralph"
    env = {
        **os.environ,
        "RALPH_RUNSERVER_BACKEND": "fs",
        "RALPH_APP_DIR": str(home / "app"),
        "RALPH_AUTH_FILE": str(home / "auth.json"),
    }
    home.mkdir()
    subprocess.run(
        [
            str(tools_bin / "ralph"),
            "auth",
            "-u",
            USER,
            "-p",
            PASSWORD,
            "-s",
            "all",
            "-M",
            "mailto:puller@example.com",
            "-w",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    log = (home / "ralph.log").open("wb")
    process = subprocess.Popen(
        [
            str(tools_bin / "ralph"),
            "runserver",
            "-b",
            "fs",
            "--fs-default-directory-path",
            str(home / "data"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/xAPI/"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url + "statements", auth=(USER, PASSWORD), timeout=2)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError((home / "ralph.log").read_text()[-3000:]) from None
            time.sleep(0.3)
    try:
        yield Ralph(url, process, home / "data")
    finally:
        process.terminate()
        process.wait(timeout=15)


def statements(count: int, tag: str) -> list[dict]:
    return [
        {
            "id": str(uuid.uuid4()),
            "actor": {"mbox": f"mailto:learner{n}@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": f"https://lms.example/{tag}/{n}"},
        }
        for n in range(count)
    ]


def produced_ids(settings: Settings) -> list[str]:
    return [orjson.loads(r.value)["id"] for r in read_topic(settings, settings.statements_topic)]


def test_pull_pages_and_resumes_from_the_cursor(ralph: Ralph, pipeline_settings: Settings) -> None:
    first = ralph.post(statements(7, "first"))
    args = ("ingest", "lrs", ralph.url, "--auth", f"{USER}:{PASSWORD}", "--page-size", "3", "-q")
    result = run_cli(pipeline_settings, *args)
    assert orjson.loads(result.stdout)["statements"] == 7
    assert sorted(produced_ids(pipeline_settings)) == sorted(first)
    records = read_topic(pipeline_settings, pipeline_settings.statements_topic)
    assert {dict(r.headers)["source"] for r in records} == {b"lrs"}

    assert orjson.loads(run_cli(pipeline_settings, *args).stdout)["statements"] == 0
    time.sleep(1.1)  # later stored times than the cursor's one-second overlap
    second = ralph.store_later(statements(2, "second"))
    assert orjson.loads(run_cli(pipeline_settings, *args).stdout)["statements"] == 2
    assert sorted(produced_ids(pipeline_settings)) == sorted(first + second)


def test_a_crash_between_pages_resumes_on_the_next_page(
    ralph: Ralph, pipeline_settings: Settings
) -> None:
    posted = ralph.post(statements(6, "crash"))
    options = {
        "url": ralph.url,
        "auth": f"{USER}:{PASSWORD}",
        "since": None,
        "until": None,
        "page_size": 2,
        "xapi_version": "1.0.3",
    }

    def crash_after_two_pages(context, **kwargs):
        checkpoints = 0
        for item in lrs_source.read(context, **kwargs):
            yield item
            if isinstance(item, Checkpoint):
                checkpoints += 1
                if checkpoints == 2:
                    raise KeyboardInterrupt("power cut")

    crashing = StatementSource(
        "lrs", "test", crash_after_two_pages, cursor_key=lrs_source.source.cursor_key
    )
    with pytest.raises(KeyboardInterrupt):
        run_module.run_statement_source(pipeline_settings, crashing, options)
    cursor = run_module.CursorStore(pipeline_settings).load(
        "lrs", lrs_source.source.cursor_key(**options)
    )
    assert "more" in cursor
    rest = run_module.run_statement_source(pipeline_settings, lrs_source.source, options)
    assert rest.statements == 2
    assert sorted(produced_ids(pipeline_settings)) == sorted(posted)


def test_wrong_credentials_are_a_clear_error(ralph: Ralph, pipeline_settings: Settings) -> None:
    result = run_cli(
        pipeline_settings, "ingest", "lrs", ralph.url, "--auth", "puller:wrong", check=False
    )
    assert result.returncode == 1
    assert "check the credentials" in result.stderr
    with pytest.raises(LrsPullError, match="not an http"):
        Endpoint.parse("ftp://x", None, "1.0.3")


class _RecordingLrs(http.server.ThreadingHTTPServer):
    """A stand-in LRS that answers one StatementResult and records each request's
    Authorization header; its `more` link is whatever the test sets."""

    def __init__(self, more: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.more = more
        self.authorizations: list[str | None] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/xapi/"


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    server: _RecordingLrs

    def do_GET(self) -> None:
        self.server.authorizations.append(self.headers.get("Authorization"))
        result: dict = {"statements": []}
        if self.server.more and "page=2" not in self.path:
            result["more"] = self.server.more
        body = orjson.dumps(result)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def recording_lrs(more: str | None = None) -> Iterator[_RecordingLrs]:
    server = _RecordingLrs(more)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_credentials_go_to_the_configured_host_only() -> None:
    with recording_lrs() as elsewhere:
        # The same machine under another name is another host, as far as HTTP is concerned.
        foreign = elsewhere.base.replace("127.0.0.1", "localhost") + "statements?page=2"
        with recording_lrs(more=foreign) as lrs:
            client = Client(Endpoint.parse(lrs.base, "key:secret", "1.0.3"))
            with pytest.raises(LrsPullError, match="credentials are sent to the configured LRS"):
                list(client.pages(None, None, 10))
            assert lrs.authorizations[0] is not None and lrs.authorizations[0].startswith("Basic")
        assert elsewhere.authorizations == []


def test_a_more_link_on_the_same_host_is_followed_with_credentials() -> None:
    with recording_lrs() as lrs:
        lrs.more = "/xapi/statements?page=2"
        client = Client(Endpoint.parse(lrs.base, "key:secret", "1.0.3"))
        assert len(list(client.pages(None, None, 10))) == 2
        assert len(lrs.authorizations) == 2
        assert all(a and a.startswith("Basic") for a in lrs.authorizations)
