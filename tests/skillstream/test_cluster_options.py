"""`--runner=FlinkRunner` without a cluster or a lake, and the job server's launcher jar: what
needs no running cluster (the cluster itself: test_cluster.py)."""

from __future__ import annotations

import json
import socket
import zipfile
from pathlib import Path

import pytest

from skillstream.cluster import ClusterError, cluster_dir, fetch, members
from skillstream.transforms.pipeline import pipeline_options
from tests.conftest import make_settings, run_cli


def test_flink_runner_without_a_cluster_says_to_start_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, lake=f"sqlite:///{tmp_path}/c.db,{tmp_path}/w")
    with pytest.raises(ClusterError, match="skillstream cluster up"):
        pipeline_options(settings, ["--runner=FlinkRunner"])


def test_flink_runner_landing_from_several_workers_needs_the_lake(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    given = ["--runner=FlinkRunner", "--job_endpoint=localhost:8099", "--parallelism=2"]
    with pytest.raises(ClusterError, match="SKILLSTREAM_LAKE"):
        pipeline_options(settings, given)
    one_writer = pipeline_options(settings, [*given[:2], "--parallelism=1"])
    assert one_writer.get_all_options()["parallelism"] == 1


def test_the_cli_refuses_flink_without_the_lake_in_one_line(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    result = run_cli(
        settings,
        "transform",
        "--until-caught-up",
        "--runner=FlinkRunner",
        "--job_endpoint=localhost:8099",
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: --runner=FlinkRunner")


def test_cluster_status_before_up_reports_every_member_down(tmp_path: Path) -> None:
    result = run_cli(make_settings(tmp_path), "cluster", "status", "--json", check=False)
    assert result.returncode == 3
    members = json.loads(result.stdout)["members"]
    assert set(members) == {
        "kafka-1",
        "kafka-2",
        "kafka-3",
        "jobmanager",
        "taskmanager-1",
        "taskmanager-2",
        "job-server",
    }
    assert all(member["pid"] is None for member in members.values())


def test_the_launcher_manifest_lists_every_jar_in_lines_java_reads(tmp_path: Path) -> None:
    jars = [f"libs/artifact-number-{n}-with-a-long-name-1.2.3.jar" for n in range(40)]
    jar = tmp_path / "launcher.jar"
    fetch.write_launcher(jar, "org.example.Main", jars)
    raw = zipfile.ZipFile(jar).read("META-INF/MANIFEST.MF")
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 72 for line in lines)
    headers = raw.replace(b"\r\n ", b"").decode().split("\r\n")
    assert "Main-Class: org.example.Main" in headers
    assert f"Class-Path: {' '.join(jars)}" in headers


def test_cluster_up_on_a_port_another_process_holds_is_a_clear_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    fetch.fetch(settings)  # cached by `make setup`
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        state = cluster_dir(settings) / "cluster.json"
        state.parent.mkdir(parents=True)
        state.write_text(json.dumps({"ports": {"kafka-1": {"client": port, "controller": 0}}}))
        result = run_cli(settings, "cluster", "up", check=False)
    assert result.returncode == 1
    assert f"127.0.0.1:{port} already in use" in result.stderr
    assert "--forget-ports" in result.stderr
    assert all(member.pid is None for member in members(settings))
