"""`skillstream forget`: erase one learner everywhere (docs/design.md §2, Privacy).

One DuckDB transaction records the learner's id (the salted hash, never the IFI) in the
tombstone table `raw.forgotten_learners` and deletes the learner from every raw table. The
landing step reads the tombstones in its own transaction, so a replay of Kafka does not
bring the learner back. dbt's incremental models drop learners raw no longer holds on the
next build; published snapshots of earlier builds are deleted once a build without the
learner is published (see `forget_learner` in skillstream/cli.py and docs/privacy.md).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from skillstream.xapi.identity import (
    PSEUDONYM_HOME_PAGE,
    IdentityError,
    canonical_ifi,
    learner_id,
    roster_ifi,
)

_LEARNER_ID = re.compile(r"[0-9a-f]{64}")
_SHA1 = re.compile(r"[0-9a-fA-F]{40}")


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


def _delete(con: duckdb.DuckDBPyConnection, table: str, learner: str) -> int:
    return int(con.execute(f"DELETE FROM {table} WHERE learner_id = ?", [learner]).fetchall()[0][0])


def erase(
    con: duckdb.DuckDBPyConnection, learner: str, ifi: str | None, salt: str
) -> dict[str, Any]:
    """Tombstone the learner and delete them from every raw table, in one transaction.

    Returns the rows erased per table. `ifi` (when known) also finds quarantined events
    whose actor cannot be parsed; without it only their learner id is searched for.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO raw.forgotten_learners VALUES (?, ?) ON CONFLICT (learner_id) DO NOTHING",
            [learner, now],
        )
        erased = {
            table: _delete(con, table, learner)
            for table in ("raw.statements", "raw.roster", "raw.kpi_observations")
        }
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
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"learner_id": learner, "forgotten_at": now.isoformat(), "erased": erased}


def forgotten_among(con: duckdb.DuckDBPyConnection, learners: list[str]) -> set[str]:
    """Which of these learner ids are tombstoned (one query, inside the caller's transaction)."""
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


def remaining(con: duckdb.DuckDBPyConnection, learner: str) -> dict[str, int]:
    """Rows of the learner left in any table with a learner_id column (dbt's tables included)."""
    tables = con.execute(
        "SELECT DISTINCT table_schema, table_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND column_name = 'learner_id' "
        "AND NOT (table_schema = 'raw' AND table_name = 'forgotten_learners') ORDER BY 1, 2"
    ).fetchall()
    found = {}
    for schema, table in tables:
        (count,) = con.execute(
            f'SELECT count(*) FROM "{schema}"."{table}" WHERE learner_id = ?', [learner]
        ).fetchall()[0]
        if count:
            found[f"{schema}.{table}"] = int(count)
    return found


def delete_snapshots_before(directory: Path, build_id: str) -> list[str]:
    """Delete the published snapshots of builds older than `build_id` (they may hold a
    forgotten learner's pseudonymous rows); returns the files deleted."""
    deleted = []
    for snapshot in sorted(directory.glob("build-*.duckdb")):
        if snapshot.stem < build_id:
            snapshot.unlink(missing_ok=True)
            Path(f"{snapshot}.wal").unlink(missing_ok=True)
            deleted.append(str(snapshot))
    return deleted


def snapshots(directory: Path) -> list[str]:
    return [str(p) for p in sorted(directory.glob("build-*.duckdb"))]
