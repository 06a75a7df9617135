"""The local broker: real Kafka in KRaft mode, one per home, stopped without leftovers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from skillstream import broker, kafka
from tests.conftest import make_settings, run_cli

pytestmark = pytest.mark.integration


def java_processes_of(home: Path) -> list[int]:
    marker = f"-Dskillstream.home={home}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "cmdline").read_bytes().split(b"\0"):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def test_two_instances_run_side_by_side_and_down_leaves_nothing(tmp_path: Path) -> None:
    first = make_settings(
        tmp_path / "one", bootstrap=f"localhost:{broker.free_port()}", partitions="3"
    )
    second = make_settings(tmp_path / "two", bootstrap=f"localhost:{broker.free_port()}")
    try:
        run_cli(first, "up")
        run_cli(second, "up")
        status = run_cli(first, "status", "--json")
        assert '"reachable":true' in status.stdout
        assert kafka.offsets(first, first.statements_topic).keys() == {0, 1, 2}
        assert kafka.offsets(second, second.statements_topic).keys() == {0, 1, 2, 3}
        assert kafka.offsets(first, first.dlq_topic).keys() == {0}
        assert (first.broker_dir / "logs" / "server.log").stat().st_size > 0
        again = run_cli(first, "up")  # idempotent: the running broker is reused
        assert str(broker.running(first).pid) in again.stdout
        assert run_cli(first, "down").stdout.strip() == "broker stopped"
        assert java_processes_of(first.home) == []
        assert kafka.offsets(second, second.statements_topic)  # the other one is untouched
    finally:
        broker.down(first)
        broker.down(second)
    assert java_processes_of(second.home) == []
    stopped = run_cli(first, "status", check=False)
    assert stopped.returncode == 3
    assert "down" in stopped.stdout


def test_up_refuses_a_port_someone_else_serves(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        settings = make_settings(tmp_path, bootstrap=f"localhost:{port}")
        result = run_cli(settings, "up", check=False)
    assert result.returncode == 1
    assert (
        f"localhost:{port} is already served by another process that is not a Kafka"
        in result.stderr
    )
    assert java_processes_of(settings.home) == []


def test_clients_say_clearly_when_no_broker_answers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, bootstrap=f"localhost:{broker.free_port()}")
    path = tmp_path / "s.ndjson"
    path.write_text("{}\n")
    result = run_cli(settings, "ingest", "file", str(path), check=False, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: no Kafka broker answers at {settings.bootstrap}")


def test_a_cluster_id_that_starts_with_a_dash_still_formats(tmp_path: Path, monkeypatch) -> None:
    import base64
    import uuid

    dashed = next(
        u
        for u in iter(uuid.uuid4, None)
        if base64.urlsafe_b64encode(u.bytes).decode().startswith("-")
    )
    monkeypatch.setattr(uuid, "uuid4", lambda: dashed)
    settings = make_settings(tmp_path, bootstrap=f"localhost:{broker.free_port()}")
    try:
        broker.up(settings)
        assert (settings.broker_dir / "data" / "meta.properties").exists()
    finally:
        broker.down(settings)
