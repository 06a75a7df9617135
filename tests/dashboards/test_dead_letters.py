"""The Data quality page shows the dead letters of the real broker by source and reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

from skillstream.settings import Settings
from tests.conftest import run_cli
from tests.dashboards.conftest import publish
from tests.dashboards.test_app import run_app

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """The pages cache what they read for some seconds, across AppTests of one process:
    this test reads its own broker and warehouse, and leaves nothing cached behind."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def test_the_quality_page_counts_dead_letters_waiting_by_reason(
    pipeline_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_caches: None,
) -> None:
    publish(pipeline_settings)
    for key, value in pipeline_settings.as_env().items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "log.ndjson"
    path.write_text('[1]\n"text"\n[2]\n')
    assert (
        run_cli(pipeline_settings, "ingest", "file", str(path), "-q", check=False).returncode == 2
    )

    app = run_app("quality")
    assert [s.value for s in app.subheader][-1] == "Dead letters"
    shown = app.dataframe[-1].value
    assert shown[["source", "reason", "letters"]].values.tolist() == [
        ["file", "a statement must be a JSON object", 3]
    ]
    assert any(
        f"3 event(s) on {pipeline_settings.dlq_topic} did not become statements" in c.value
        for c in app.caption
    )


def test_without_a_live_intake_a_stopped_broker_is_said_to_be_normal(
    published_settings: Settings, monkeypatch: pytest.MonkeyPatch, fresh_caches: None
) -> None:
    monkeypatch.setenv("SKILLSTREAM_BOOTSTRAP", "127.0.0.1:9")  # nothing listens there
    app = run_app("quality")
    notice = " ".join(i.value for i in app.info)
    assert "no live intake (`skillstream run`) is running" in notice
    assert "127.0.0.1:9" not in notice
