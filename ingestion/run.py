"""Running a statement source: events to Kafka, cursor persisted only behind Kafka's acks."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from skillstream.ingestion import intake
from skillstream.ingestion.produce import StatementProducer
from skillstream.ingestion.sources import (
    Checkpoint,
    RawEvent,
    SilentProgress,
    SourceContext,
    StatementSource,
)
from skillstream.settings import Settings


class CursorStore:
    """Cursors of sources under `SKILLSTREAM_HOME/cursors/<source>/`, written atomically."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.home / "cursors"

    def _path(self, source: str, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return self.root / source / f"{digest}.json"

    def load(self, source: str, key: str) -> dict[str, Any]:
        path = self._path(source, key)
        if not path.exists():
            return {}
        return dict(orjson.loads(path.read_bytes()).get("state", {}))

    def save(self, source: str, key: str, state: Mapping[str, Any]) -> None:
        path = self._path(source, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "source": source,
            "key": key,
            "state": dict(state),
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            handle.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def clear(self, source: str, key: str) -> None:
        self._path(source, key).unlink(missing_ok=True)


@dataclass
class RunResult:
    statements: int = 0
    dead_letters: int = 0
    checkpoints: int = 0
    dead_lettered: list[str] = field(default_factory=list)


def _progress_bar(enabled: bool) -> Any:
    if not enabled:
        return SilentProgress()
    from tqdm import tqdm

    return tqdm(unit="event", unit_scale=True, dynamic_ncols=True, file=sys.stderr, leave=True)


def run_statement_source(
    settings: Settings,
    source: StatementSource,
    options: dict[str, Any],
    *,
    restart: bool = False,
    progress: bool = False,
    on_dead_letter: Callable[[RawEvent], None] | None = None,
    **producer_config: Any,
) -> RunResult:
    """Produce every event of one run of `source`; persist its cursor at each checkpoint."""
    store = CursorStore(settings)
    key = source.cursor_key(**options)
    if key is not None and restart:
        store.clear(source.name, key)
    cursor = store.load(source.name, key) if key is not None else {}
    bar = _progress_bar(progress)
    context = SourceContext(settings=settings, cursor=cursor, progress=bar)
    producer = StatementProducer(settings, source=source.name, **producer_config)
    result = RunResult()
    items = intake.file_items(source, context, options) or source.read(context, **options)
    try:
        for item in items:
            if isinstance(item, intake.KeyedLines):
                producer.send_keyed(item.name, item.rows)
                bar.update(len(item.rows))
                continue
            if isinstance(item, Checkpoint):
                producer.checkpoint()  # raises unless Kafka acknowledged everything so far
                if key is not None:
                    store.save(source.name, key, item.state)
                result.checkpoints += 1
                continue
            if item.error is not None:
                result.dead_lettered.append(f"{item.origin}: {item.error}")
                if on_dead_letter is not None:
                    on_dead_letter(item)
            producer.send(item)
            if getattr(bar, "unit", "event") == "event":
                bar.update(1)
    finally:
        if hasattr(bar, "close"):
            bar.close()
        counts = producer.close()
    result.statements, result.dead_letters = counts.statements, counts.dead_letters
    return result
