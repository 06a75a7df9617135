"""`skillstream forget`: erase one learner everywhere (docs/design.md §2, Privacy).

One DuckDB transaction records the learner's id (the salted hash, never the IFI) in the
tombstone table `raw.forgotten_learners`, deletes the rows of which the learner is the subject
from every raw table, and replaces every other mention of them (an instructor, a team or group
member, an authority in another learner's statement) with the marker `forgotten`. Every writer
of `raw.*` reads the tombstones inside its own transaction (`forgotten_among`), so a roster or
KPI re-import, an LRS re-pull or a replay of Kafka does not bring the learner back. The
workflow (`forget_learner`) then rebuilds every dbt model from raw and, once that build is
published, deletes the older published snapshots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from skillstream import warehouse
from skillstream.quality import publish
from skillstream.settings import Settings
from skillstream.xapi.identity import (
    PSEUDONYM_HOME_PAGE,
    IdentityError,
    canonical_ifi,
    learner_id,
    roster_ifi,
)

FORGOTTEN = "forgotten"  # what a forgotten learner's id becomes where it is not the subject

_LEARNER_ID = re.compile(r"[0-9a-f]{64}")
_SHA1 = re.compile(r"[0-9a-fA-F]{40}")
# A learner id as the name of a pseudonymous account, as the transform stores every person in
# every role (compact JSON). Searching for the key too reads a batch ~3x faster than for any
# quoted 64 hex digits: most quotes in a statement are not followed by an id.
_ACCOUNT_LEARNER_ID = re.compile(rb'"name":"([0-9a-f]{64})"')
_LEARNER_ID_IN_TEXT = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_SUBJECT_TABLES = ("raw.statements", "raw.roster", "raw.kpi_observations")


class ForgetError(ValueError):
    """A learner given to `forget` that names no learner."""


def parse_learner(text: str) -> str:
    """The canonical IFI of `--learner`: as the roster's `learner` column (an email, a
    `mailto:` IRI or `homePage|name`), or `mbox_sha1sum:<hex>` or `openid:<uri>`."""
    value = text.strip()
    lowered = value.lower()
    if lowered.startswith("mbox_sha1sum:"):
        digest = value[len("mbox_sha1sum:") :]
        if not _SHA1.fullmatch(digest):
            raise ForgetError(
                f"--learner {text!r}: mbox_sha1sum must be 40 hex digits "
                "(the SHA-1 of the mailto: IRI)"
            )
        return digest  # canonical IFI: mbox_sha1sum as given
    if lowered.startswith("openid:"):
        uri = value[len("openid:") :]
        if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:\S+$", uri):
            raise ForgetError(f"--learner {text!r}: openid must be an absolute URI")
        return uri  # canonical IFI: openid as given
    try:
        return roster_ifi(value)
    except IdentityError as error:
        raise ForgetError(
            f"--learner {text!r}: {error}; give an email, mailto: IRI, homePage|name, "
            "mbox_sha1sum:<hex> or openid:<uri>"
        ) from None


def parse_learner_id(text: str) -> str:
    value = text.strip().lower()
    if not _LEARNER_ID.fullmatch(value):
        raise ForgetError(f"--learner-id {text!r}: must be a learner_id, 64 hex digits (SHA-256)")
    return value


def payload_learner_ids(payload: str | bytes, salt: str) -> set[str] | None:
    """The learner ids a quarantined or rejected event names as its actor (members of a
    Group too; a pseudonymised actor by its id). None when no actor can be read from it."""
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    actor = event.get("actor") if isinstance(event, dict) else None
    if not isinstance(actor, dict):
        return None
    agents = [actor]
    members = actor.get("member")
    if isinstance(members, list):
        agents += [m for m in members if isinstance(m, dict)]
    ids: set[str] = set()
    for agent in agents:
        account = agent.get("account")
        if isinstance(account, dict) and account.get("homePage") == PSEUDONYM_HOME_PAGE:
            if isinstance(account.get("name"), str):
                ids.add(account["name"])
            continue
        try:
            ids.add(learner_id(canonical_ifi(agent), salt))
        except IdentityError:
            continue
    return ids or None


def _ifi_texts(ifi: str) -> list[str]:
    """What an event that names this IFI contains, for events whose actor cannot be read."""
    if ifi.startswith("mailto:"):
        return [ifi[len("mailto:") :]]
    if "|" in ifi:
        return ifi.split("|", 1)
    return [ifi]


def _belongs(payload: str, learner: str, ifi: str | None, salt: str) -> bool:
    ids = payload_learner_ids(payload, salt)
    if ids is not None:
        return learner in ids
    text = payload.lower()
    if learner in text:
        return True
    return ifi is not None and all(part.lower() in text for part in _ifi_texts(ifi))


def _ifi_mentions(ifi: str | None) -> tuple[str, ...]:
    """The texts of an IFI that name its owner in another event: the email, mbox_sha1sum or
    openid. An account's name alone is too short to replace safely: it is found by its id."""
    return tuple(_ifi_texts(ifi)) if ifi is not None and "|" not in ifi else ()


def _mention_pattern(learner: str, texts: tuple[str, ...]) -> str:
    """A case-insensitive regular expression (Python's and DuckDB's RE2 alike) of the
    learner id and these texts."""
    return "(?i)(" + "|".join(re.escape(text) for text in (learner, *texts)) + ")"


def _text_columns(
    con: duckdb.DuckDBPyConnection, schema: str | None = None
) -> dict[str, list[tuple[str, str]]]:
    """Text, JSON and text-list columns (name, type) of each base table but the tombstones,
    by table name `schema.table`."""
    rows = con.execute(
        "SELECT c.table_schema, c.table_name, c.column_name, c.data_type "
        "FROM information_schema.columns c JOIN information_schema.tables t "
        "USING (table_catalog, table_schema, table_name) "
        "WHERE c.table_catalog = current_database() AND t.table_type = 'BASE TABLE' "
        "AND (c.data_type IN ('VARCHAR', 'JSON', 'VARCHAR[]')) "
        "AND coalesce(c.table_schema = ?, true) "
        "AND NOT (c.table_schema = 'raw' AND c.table_name = 'forgotten_learners') "
        "ORDER BY c.table_schema, c.table_name, c.ordinal_position",
        [schema],
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table_schema, table, column, data_type in rows:
        tables.setdefault(f"{table_schema}.{table}", []).append((column, data_type))
    return tables


def _quoted(table: str) -> str:
    schema, name = table.split(".", 1)
    return f'"{schema}"."{name}"'


def _as_text(column: str, data_type: str) -> str:
    if data_type == "VARCHAR[]":
        return f'array_to_string("{column}", chr(31))'
    return f'"{column}"::VARCHAR'


def _replace_mentions(con: duckdb.DuckDBPyConnection, pattern: str) -> dict[str, int]:
    """Replace every match of `pattern` in raw's text columns with FORGOTTEN; returns the
    rows changed per table and column."""
    replaced = {}
    for table, columns in _text_columns(con, "raw").items():
        for column, data_type in columns:
            if data_type == "VARCHAR[]":
                new = f"list_transform(\"{column}\", lambda x: regexp_replace(x, $p, $m, 'g'))"
            else:
                new = f"regexp_replace(\"{column}\"::VARCHAR, $p, $m, 'g')::{data_type}"
            (count,) = con.execute(
                f'UPDATE {_quoted(table)} SET "{column}" = {new} '
                f"WHERE regexp_matches({_as_text(column, data_type)}, $p)",
                {"p": pattern, "m": FORGOTTEN},
            ).fetchall()[0]
            if count:
                replaced[f"{table}.{column}"] = int(count)
    return replaced


def _delete(con: duckdb.DuckDBPyConnection, table: str, learner: str) -> int:
    return int(con.execute(f"DELETE FROM {table} WHERE learner_id = ?", [learner]).fetchall()[0][0])


def erase(
    con: duckdb.DuckDBPyConnection, learner: str, ifi: str | None, salt: str
) -> dict[str, Any]:
    """Tombstone the learner, delete the rows they are the subject of from every raw table and
    replace their other mentions with FORGOTTEN, in one transaction.

    Returns the rows erased per table and the rows whose mentions were replaced, per table
    and column. `ifi` (when known) also finds quarantined events whose actor cannot be
    parsed, and the IFI's text in other events; without it the learner id is searched for.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO raw.forgotten_learners VALUES (?, ?) ON CONFLICT (learner_id) DO NOTHING",
            [learner, now],
        )
        erased = {table: _delete(con, table, learner) for table in _SUBJECT_TABLES}
        quarantine = con.execute(
            "SELECT topic, kafka_partition, kafka_offset, payload FROM raw.quarantine"
        ).fetchall()
        keys = [row[:3] for row in quarantine if _belongs(row[3], learner, ifi, salt)]
        if keys:
            con.executemany(
                "DELETE FROM raw.quarantine "
                "WHERE topic = ? AND kafka_partition = ? AND kafka_offset = ?",
                keys,
            )
        erased["raw.quarantine"] = len(keys)
        replaced = _replace_mentions(con, _mention_pattern(learner, _ifi_mentions(ifi)))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {
        "learner_id": learner,
        "forgotten_at": now.isoformat(),
        "erased": erased,
        "mentions_replaced": replaced,
    }


# ---- the tombstones, as every writer of raw.* honours them ----------------------------------


def forgotten_among(con: duckdb.DuckDBPyConnection, learners: list[str]) -> set[str]:
    """Which of these learner ids are tombstoned (one query, inside the caller's transaction:
    a `forget` committed before it is seen, one committed after it erases what it wrote)."""
    if not learners:
        return set()
    return {
        r[0]
        for r in con.execute(
            "SELECT learner_id FROM raw.forgotten_learners "
            "WHERE learner_id IN (SELECT unnest(?::VARCHAR[]))",
            [sorted(set(learners))],
        ).fetchall()
    }


def without_forgotten(
    con: duckdb.DuckDBPyConnection, rows: list[tuple], learner_at: int = 0
) -> tuple[list[tuple], int]:
    """The rows (of an import) whose learner id, at index `learner_at`, is not tombstoned;
    and how many were left out. Rows without a learner (a team's KPI) are kept."""
    forgotten = forgotten_among(con, [r[learner_at] for r in rows if r[learner_at] is not None])
    if not forgotten:
        return rows, 0
    kept = [r for r in rows if r[learner_at] not in forgotten]
    return kept, len(rows) - len(kept)


def _account_ids(column: pa.ChunkedArray) -> set[str]:
    """The learner ids a column of statements names as pseudonymous accounts (a pass over the
    column's bytes, not one Python string per row)."""
    found: set[bytes] = set()
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        if len(chunk) == 0 or data is None:
            continue
        width = 8 if pa.types.is_large_string(chunk.type) else 4
        offsets = memoryview(chunk.buffers()[1]).cast("q" if width == 8 else "i")
        start, end = offsets[chunk.offset], offsets[chunk.offset + len(chunk)]
        found.update(_ACCOUNT_LEARNER_ID.findall(memoryview(data)[start:end]))
    return {match.decode() for match in found}


def _reject_subjects(payload: str, salt: str | None) -> set[str]:
    """Whose a rejected event is: its actor's ids; when no actor can be read from it, every
    learner id its text holds (as `erase` decides for a quarantined event)."""
    ids = payload_learner_ids(payload, salt) if salt is not None else set()
    return set(_LEARNER_ID_IN_TEXT.findall(payload)) if ids is None else ids


def _unmention(text: str, learners: set[str]) -> str:
    for learner in learners:
        text = text.replace(learner, FORGOTTEN)
    return text


def honour_tombstones(
    con: duckdb.DuckDBPyConnection, rows: pa.Table, rejects: list[tuple], salt: str | None
) -> tuple[pa.Table, list[tuple], int]:
    """A batch about to land, as `forget` would have left it: the statements and rejected
    events of forgotten learners left out, and their ids in other learners' statements and
    rejects replaced with FORGOTTEN. Reads the tombstones inside the landing transaction.

    `rows` has `learner_id` and `statement` (JSON text) columns; a reject is (partition,
    offset, statement_id, source, reasons, payload). `salt` lets a reject's actor be
    recognised by its IFI. Returns the kept rows and rejects and how many were left out.
    """
    (tombstones,) = con.execute("SELECT count(*) FROM raw.forgotten_learners").fetchall()[0]
    if not tombstones:  # the usual case: nothing of the batch is read
        return rows, rejects, 0
    subjects = [_reject_subjects(r[5], salt) for r in rejects]
    named = _account_ids(rows.column("statement")).union(
        *subjects, *(_LEARNER_ID_IN_TEXT.findall(r[5]) for r in rejects)
    )
    forgotten = forgotten_among(con, [*named, *pc.unique(rows.column("learner_id")).to_pylist()])
    if not forgotten:
        return rows, rejects, 0
    kept_rows = rows.filter(
        pc.invert(pc.is_in(rows.column("learner_id"), value_set=pa.array(sorted(forgotten))))
    )
    index = kept_rows.schema.get_field_index("statement")
    column = kept_rows.column(index)
    for learner in _account_ids(column) & forgotten:  # a pass each: only those named
        column = pc.replace_substring(column, learner, FORGOTTEN)
    kept_rows = kept_rows.set_column(index, kept_rows.schema.field(index), column)
    kept_rejects = [
        (*r[:5], _unmention(r[5], forgotten))
        for r, whose in zip(rejects, subjects, strict=True)
        if not whose & forgotten
    ]
    dropped = rows.num_rows - kept_rows.num_rows + len(rejects) - len(kept_rejects)
    return kept_rows, kept_rejects, dropped


# ---- what still holds the learner -----------------------------------------------------------


def remaining(
    con: duckdb.DuckDBPyConnection, learner: str, texts: tuple[str, ...] = ()
) -> dict[str, int]:
    """Rows of any table (dbt's too) that still hold the learner: their learner id in any
    text, JSON or text-list column, or any of `texts` (e.g. their email, case-insensitive)."""
    pattern = _mention_pattern(learner, texts)
    found = {}
    for table, columns in _text_columns(con).items():
        condition = " OR ".join(
            f"regexp_matches({_as_text(column, data_type)}, $p)" for column, data_type in columns
        )
        (count,) = con.execute(
            f"SELECT count(*) FROM {_quoted(table)} WHERE {condition}", {"p": pattern}
        ).fetchall()[0]
        if count:
            found[table] = int(count)
    return found


def delete_snapshots_before(directory: Path, build_id: str) -> list[str]:
    """Delete the published builds older than `build_id` (they may hold a forgotten learner's
    pseudonymous rows) and every table file no remaining build reads; returns the files
    deleted. A table the build `build_id` shares with an older one stays: its content is
    that of the build's own marts, which hold no trace of the learner."""
    return publish.delete_builds(
        directory, [p for p in sorted(directory.glob("build-*")) if p.name < build_id]
    )


def snapshots(directory: Path) -> list[str]:
    """Every file of the published builds: the manifests and the table files they read."""
    return [str(p) for p in publish.published_files(directory)]


# ---- the workflow of `skillstream forget` ---------------------------------------------------


@dataclass
class Forgotten:
    """What `forget_learner` did: `summary` for the user (JSON-ready), and whether it
    finished (every table and snapshot is free of the learner) or the build failures that
    stopped it."""

    summary: dict[str, Any]
    finished: bool
    failures: list[dict[str, str]]


def forget_learner(
    settings: Settings, learner: str | None, ifi: str | None, quiet: bool = False
) -> Forgotten:
    """Erase the learner (by learner id, or by IFI when `ifi` is given) from raw (and from the
    lake's tables and their history, in the lake mode), rebuild every dbt model from raw, and
    once that build is published and holds no trace of the learner, delete the earlier
    snapshots. Safe to repeat until it finishes."""
    from skillstream.build import build  # dbt and the quality gate: not for the landing

    salt = settings.learner_salt()
    target = learner_id(ifi, salt) if ifi is not None else learner
    if target is None:
        raise ForgetError("give the learner's IFI or learner id")
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        summary = erase(con, target, ifi, salt)
    finally:
        con.close()
    pattern = _mention_pattern(target, _ifi_mentions(ifi))
    lake_location = settings.lake_location
    if lake_location is not None:  # the lake's tables and their history (docs/privacy.md)
        from skillstream.transforms import lake

        # first: every batch landed from now on leaves them out, as the DuckDB landing does
        lake.record_tombstone(lake_location, target)
        summary["lake"] = lake.erase_learner(
            lake_location, target, lambda payload: _belongs(payload, target, ifi, salt), pattern
        )
    # Rebuilt in full rather than incrementally: an incremental model keeps the rows of other
    # learners it built before, and with them any mention the erase just replaced in raw.
    record = build(settings, quiet=quiet, full_refresh=True)
    con = warehouse.connect(settings, read_only=True)
    try:
        left = remaining(con, target, _ifi_mentions(ifi))
    finally:
        con.close()
    if lake_location is not None:
        left |= lake.remaining(lake_location, pattern)
    summary["build"] = {
        "build_id": record.build_id,
        "published": record.is_published,
        "failures": record.failures,
    }
    summary["remaining"] = left
    finished = record.is_published and not left
    if finished:
        con = warehouse.connect(settings)  # the lock: no build publishes while files go
        try:
            summary["snapshots_deleted"] = delete_snapshots_before(
                settings.published_dir, record.build_id
            )
        finally:
            con.close()
    else:
        summary["snapshots_still_holding_learner"] = snapshots(settings.published_dir)
    return Forgotten(summary, finished, record.failures)
