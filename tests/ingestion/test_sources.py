"""Sources as plugins: the loader, the file source's cursor, crash and resume on real Kafka."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import orjson
import pytest

from skillstream.ingestion import run as run_module
from skillstream.ingestion.sources import (
    Checkpoint,
    RawEvent,
    SourceContext,
    StatementSource,
    TableSource,
    load_sources,
)
from skillstream.ingestion.sources import file as file_source
from skillstream.settings import Settings
from tests.ingestion.test_ingest_file import read_topic


def statement(n: int) -> dict:
    return {
        "actor": {"mbox": f"mailto:learner{n % 7}@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": f"https://lms.example/a/{n}"},
    }


def write_ndjson(path: Path, numbers: range) -> None:
    with path.open("ab") as handle:
        for n in numbers:
            handle.write(orjson.dumps(statement(n)) + b"\n")


def test_the_built_in_sources_are_registered_plugins() -> None:
    sources = load_sources()
    for name in ("file", "lrs", "caliper", "tutor"):
        assert isinstance(sources[name], StatementSource), name
        assert sources[name].name == name
    for name in ("roster", "kpis"):
        assert isinstance(sources[name], TableSource), name


def _run(settings: Settings, cursor: dict, path: Path) -> tuple[list[RawEvent], dict]:
    events, state = [], cursor
    for item in file_source.read(SourceContext(settings, cursor), paths=(path,)):
        if isinstance(item, Checkpoint):
            state = dict(item.state)
        else:
            events.append(item)
    return events, state


def test_the_cursor_resumes_grows_and_restarts(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "log.ndjson"
    write_ndjson(path, range(5))
    events, state = _run(settings, {}, path)
    assert [e.index for e in events] == [0, 1, 2, 3, 4]
    assert _run(settings, state, path)[0] == []  # nothing new
    write_ndjson(path, range(5, 8))  # an appended log continues where it stopped
    events, state = _run(settings, state, path)
    assert [e.statement["object"]["id"][-1] for e in events] == ["5", "6", "7"]
    path.write_bytes(orjson.dumps(statement(99)) + b"\n")  # another file: from the start
    assert [e.index for e in _run(settings, state, path)[0]] == [0]


def test_gzipped_array_resumes_by_element(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "batch.json.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(orjson.dumps([statement(n) for n in range(4)]))
    _, state = _run(settings, {}, path)
    name = str(path.resolve())
    state["files"][name]["next"] = 2  # as if a crash came after the first two
    assert [e.index for e in _run(settings, state, path)[0]] == [2, 3]


@pytest.mark.integration
def test_a_crash_resumes_from_the_last_acknowledged_checkpoint(
    pipeline_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "big.ndjson"
    write_ndjson(path, range(250))
    monkeypatch.setattr(file_source, "CHECKPOINT_EVERY", 100)
    crashing_read = file_source.read

    def crash_after_230(context, paths):
        for count, item in enumerate(crashing_read(context, paths)):
            if count == 232:  # 230 events and 2 checkpoints in
                raise KeyboardInterrupt("power cut")
            yield item

    crashing = StatementSource("file", "test", crash_after_230, cursor_key=lambda **_: "files")
    with pytest.raises(KeyboardInterrupt):
        run_module.run_statement_source(pipeline_settings, crashing, {"paths": (path,)})
    saved = run_module.CursorStore(pipeline_settings).load("file", "files")
    assert saved["files"][str(path.resolve())]["next"] == 200

    capsys.readouterr()
    result = run_module.run_statement_source(
        pipeline_settings, file_source.source, {"paths": (path,)}, progress=True
    )
    assert result.statements == 50  # only what came after the last checkpoint
    assert re.search(r"\b50(\.0)? ?event ", capsys.readouterr().err)  # the progress bar's end
    produced = [
        orjson.loads(r.value)["object"]["id"]
        for r in read_topic(pipeline_settings, pipeline_settings.statements_topic)
    ]
    # Everything arrived; the 30 sent after the checkpoint before the crash arrive twice,
    # which the pipeline lands once (same id and content).
    assert sorted(set(produced)) == sorted(f"https://lms.example/a/{n}" for n in range(250))
    assert len(produced) == 280
    again = run_module.run_statement_source(
        pipeline_settings, file_source.source, {"paths": (path,)}
    )
    assert again.statements == 0


def test_a_broken_plugin_is_named_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    from skillstream.ingestion import sources as sources_module

    broken = EntryPoint("broken", "no_such_module_xyz:source", sources_module.ENTRY_POINT_GROUP)
    wrong = EntryPoint("wrong", "json:dumps", sources_module.ENTRY_POINT_GROUP)
    monkeypatch.setattr(sources_module, "entry_points", lambda group: [broken, wrong])
    with pytest.raises(sources_module.SourceError, match=r"'broken' .* failed to load"):
        sources_module.load_source("broken")
    with pytest.raises(sources_module.SourceError, match="not a StatementSource or TableSource"):
        sources_module.load_source("wrong")
    with pytest.raises(sources_module.SourceError, match="no source named 'nope'"):
        sources_module.load_source("nope")


@pytest.mark.integration
def test_sigkill_mid_file_then_rerun_loses_nothing(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "big.ndjson"
    count = 60_000
    write_ndjson(path, range(count))
    env = {**os.environ, **pipeline_settings.as_env()}
    command = [sys.executable, "-m", "skillstream.cli", "ingest", "file", str(path), "-q"]
    cursors = pipeline_settings.home / "cursors" / "file"
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (cursors.exists() and any(cursors.glob("*.json"))):
        assert process.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = run_module.CursorStore(pipeline_settings).load("file", "files")
    done = saved["files"][str(path.resolve())]["next"]
    assert 0 < done < count

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert orjson.loads(rerun.stdout)["statements"] == count - done
    ids = {
        orjson.loads(r.value)["object"]["id"]
        for r in read_topic(pipeline_settings, pipeline_settings.statements_topic)
    }
    assert len(ids) == count  # every statement arrived; repeats land once downstream


def test_sources_check_statements_in_the_quarantine_s_words() -> None:
    from skillstream.transforms.records import KafkaRecord
    from skillstream.xapi.validate import validate_statement
    from tests.conftest import normalise_one

    invalid = {**statement(1), "timestamp": "yesterday", "result": {"score": {"scaled": 3}}}
    _, reject = normalise_one(KafkaRecord(0, orjson.dumps(invalid), "quizcsv", 0), 0, "salt")
    assert reject is not None
    assert validate_statement(invalid) == reject[4]  # the reasons raw.quarantine keeps
    assert validate_statement(statement(1)) == []
