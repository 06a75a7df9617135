"""The `lrs` source: pull statements from another LRS (GET /statements with since/until,
following `more`), with its cursor persisted under SKILLSTREAM_HOME.

    skillstream ingest lrs https://lrs.example/xapi/ --auth KEY:SECRET [--since T] [--until T]

The cursor remembers the newest `stored` time pulled (and the ids stored in the second
before it, since `since` is exclusive and clocks are coarse): the next run asks only for
what came later. Inside a run, each page's checkpoint keeps the `more` link, so a crash
resumes on the next page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import click
import orjson

from skillstream.ingestion.sources import Checkpoint, RawEvent, SourceContext, StatementSource
from skillstream.ingestion.sources.lrs.helpers import (
    DEFAULT_PAGE_SIZE,
    Client,
    Endpoint,
    LrsPullError,
)
from skillstream.xapi import formats

__all__ = ["LrsPullError", "read", "source"]

_OVERLAP = timedelta(seconds=1)


def _stored_at(statement: Any) -> Any:
    stored = statement.get("stored") if isinstance(statement, dict) else None
    if not isinstance(stored, str):
        return None
    try:
        return formats.parse_timestamp(stored)
    except ValueError:
        return None


class _Newest:
    """The newest stored time pulled so far and the ids stored in the second before it."""

    def __init__(self, state: dict[str, Any]) -> None:
        newest = state.get("newest")
        self.newest = formats.parse_timestamp(newest) if newest else None
        self.window = {
            sid: formats.parse_timestamp(t) for sid, t in state.get("window", {}).items()
        }

    def note(self, stored: Any, statement_id: str) -> None:
        if self.newest is None or stored > self.newest:
            self.newest = stored
        self.window[statement_id] = stored
        floor = self.newest - _OVERLAP
        self.window = {sid: t for sid, t in self.window.items() if t >= floor}

    def state(self) -> dict[str, Any]:
        return {
            "newest": self.newest.isoformat() if self.newest else None,
            "window": {sid: t.isoformat() for sid, t in self.window.items()},
        }


def read(
    context: SourceContext,
    url: str,
    auth: str | None,
    since: str | None,
    until: str | None,
    page_size: int,
    xapi_version: str,
) -> Iterator[RawEvent | Checkpoint]:
    endpoint = Endpoint.parse(url, auth, xapi_version)
    client = Client(endpoint)
    cursor = dict(context.cursor)
    done = {"since": cursor.get("since"), "recent_ids": cursor.get("recent_ids", [])}
    recent = set(done["recent_ids"])
    query_since = since
    if query_since is None and done["since"]:
        query_since = (formats.parse_timestamp(done["since"]) - _OVERLAP).isoformat()
    newest = _Newest(cursor if cursor.get("more") else {})
    index = 0
    for statements, next_page in client.pages(query_since, until, page_size, cursor.get("more")):
        for statement in statements:
            is_object = isinstance(statement, dict)
            statement_id = statement.get("id") if is_object else None
            if statement_id in recent:
                continue  # pulled by the previous run (the one-second overlap)
            origin = f"{endpoint.base} stored {statement.get('stored') if is_object else '?'}"
            payload = orjson.dumps(statement)
            if not is_object:
                yield RawEvent(payload, origin, "a statement must be a JSON object", index=index)
            else:
                yield RawEvent(payload, origin, statement=statement, index=index)
                stored = _stored_at(statement)
                if stored is not None and isinstance(statement_id, str):
                    newest.note(stored, statement_id)
            index += 1
            context.progress.update(1)
        if next_page is not None:
            yield Checkpoint({**done, "more": next_page, **newest.state()})
    if newest.newest is None:
        yield Checkpoint(done)
        return
    since_now = newest.newest.isoformat()
    ids = set(newest.window)
    if since_now == done["since"]:
        ids |= recent
    yield Checkpoint({"since": since_now, "recent_ids": sorted(ids)})


source = StatementSource(
    name="lrs",
    help="Pull statements from another LRS (since/until, more paging, cursor kept).",
    read=read,
    parameters=(
        click.Argument(["url"]),
        click.Option(["--auth"], help="KEY:SECRET for HTTP Basic (or put them in the URL)."),
        click.Option(["--since"], help="Only statements stored after this time (first run)."),
        click.Option(["--until"], help="Only statements stored up to this time."),
        click.Option(
            ["--page-size"],
            type=click.IntRange(1, 10_000),
            default=DEFAULT_PAGE_SIZE,
            show_default=True,
        ),
        click.Option(
            ["--xapi-version"],
            default="1.0.3",
            show_default=True,
            help="X-Experience-API-Version to send.",
        ),
    ),
    cursor_key=lambda url, auth=None, **_: Endpoint.parse(url, auth, "1.0.3").cursor_key,
)
