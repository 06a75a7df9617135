"""Publishing: a build's manifest names one file per mart, by content; a mart whose content
is already published is shared, not copied. Real DuckDB marts, written here without dbt."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from skillstream import forget, warehouse
from skillstream.quality import publish
from skillstream.quality.publish import BuildRecord
from skillstream.settings import Settings
from tests.conftest import record_a_build

ADA, BOB = "a" * 64, "b" * 64


def learner_skills(*learners: str) -> str:
    rows = ", ".join(f"('{learner}', 'sql', NULL::DOUBLE)" for learner in learners)
    return f"SELECT * FROM (VALUES {rows}) t(learner_id, skill, mastery)"


MARTS = {
    "roi_quarterly": "SELECT '2026-Q3' AS quarter, 'pilot' AS cohort, 1.5::DOUBLE AS roi",
    "learner_skills": learner_skills(ADA, BOB),
}


def write_marts(settings: Settings, **marts: str) -> None:
    """Replace these marts of the warehouse, each by the rows of its query."""
    con = warehouse.connect(settings)
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        for table, query in marts.items():
            con.execute(f"CREATE OR REPLACE TABLE marts.{table} AS {query}")
    finally:
        con.close()


def published(settings: Settings, build: BuildRecord) -> dict[str, list[tuple]]:
    """Every mart and meta.build of a published build, as its readers see them."""
    assert build.snapshot is not None
    con = publish.connect_snapshot(build.snapshot)
    try:
        tables = warehouse.table_names(con, "marts")
        seen = {t: con.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall() for t in tables}
        seen["meta.build"] = con.execute("SELECT build_id FROM meta.build").fetchall()
        return seen
    finally:
        con.close()


def table_files(settings: Settings) -> list[str]:
    return sorted(p.name for p in (settings.published_dir / publish.TABLES_DIR).iterdir())


def test_a_build_with_the_same_marts_writes_no_table_file(settings: Settings) -> None:
    write_marts(settings, **MARTS)
    first = record_a_build(settings)
    files = table_files(settings)
    second = record_a_build(settings)

    assert len(files) == 2 and table_files(settings) == files
    assert first.publishing is not None and second.publishing is not None
    assert sorted(first.publishing["tables_written"]) == sorted(MARTS)
    assert second.publishing["tables_written"] == []
    assert second.publishing["tables_shared"] == 2
    current = json.loads((settings.published_dir / "current.json").read_text())
    assert current["snapshot"] == second.snapshot
    assert current["publishing"]["tables_written"] == []
    seen = published(settings, second)
    assert seen["roi_quarterly"] == [("2026-Q3", "pilot", 1.5)]
    assert seen["meta.build"] == [(second.build_id,)]


def test_a_changed_mart_is_the_only_file_written_and_readers_see_it(settings: Settings) -> None:
    write_marts(settings, **MARTS)
    first = record_a_build(settings)
    write_marts(settings, roi_quarterly=MARTS["roi_quarterly"].replace("1.5", "2.5"))
    second = record_a_build(settings)

    assert second.publishing is not None
    assert second.publishing["tables_written"] == ["roi_quarterly"]
    assert second.publishing["tables_shared"] == 1
    assert len(table_files(settings)) == 3
    old, new = published(settings, first), published(settings, second)
    assert old["roi_quarterly"] == [("2026-Q3", "pilot", 1.5)]
    assert new["roi_quarterly"] == [("2026-Q3", "pilot", 2.5)]
    assert new["learner_skills"] == old["learner_skills"]
    assert new["meta.build"] == [(second.build_id,)]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # pairs of duplicates: a xor of the rows' hashes is 0 for both, and so is the count
        ("(1, 2), (1, 2), (3, 4), (3, 4)", "(5, 6), (5, 6), (7, 8), (7, 8)"),
        ("(1, NULL), (NULL, 2)", "(NULL, 1), (2, NULL)"),  # NULLs moved
        ("(1, 2)", "(1::BIGINT, 2)"),  # the same values in a wider type
    ],
)
def test_a_fingerprint_sees_duplicates_nulls_and_types(
    settings: Settings, before: str, after: str
) -> None:
    write_marts(settings, t=f"SELECT * FROM (VALUES {before}) t(n, m)")
    record_a_build(settings)
    write_marts(settings, t=f"SELECT * FROM (VALUES {after}) t(n, m)")
    build = record_a_build(settings)
    assert build.publishing is not None and build.publishing["tables_written"] == ["t"]


def test_a_renamed_column_is_a_change(settings: Settings) -> None:
    write_marts(settings, t="SELECT 1 AS n")
    record_a_build(settings)
    write_marts(settings, t="SELECT 1 AS m")
    build = record_a_build(settings)
    assert build.publishing is not None and build.publishing["tables_written"] == ["t"]


def test_rows_in_another_order_are_the_same_content(settings: Settings) -> None:
    write_marts(settings, t="SELECT * FROM (VALUES (1, 'x'), (2, NULL)) t(n, s)")
    record_a_build(settings)
    write_marts(settings, t="SELECT * FROM (VALUES (2, NULL), (1, 'x')) t(n, s)")
    build = record_a_build(settings)
    assert build.publishing is not None and build.publishing["tables_written"] == []


def test_pruning_keeps_three_builds_and_the_files_they_read(settings: Settings) -> None:
    write_marts(settings, **MARTS)
    builds = []
    for roi in ("1", "2", "3", "4", "5"):
        write_marts(settings, roi_quarterly=MARTS["roi_quarterly"].replace("1.5", roi))
        builds.append(record_a_build(settings))
    # a table file a crash left behind, named by no build
    (settings.published_dir / publish.TABLES_DIR / ".t-0.duckdb.partial").write_text("")

    kept = builds[-publish.KEEP_SNAPSHOTS :]
    write_marts(settings, roi_quarterly=MARTS["roi_quarterly"].replace("1.5", "5"))
    kept = [*kept[1:], record_a_build(settings)]  # roi as the last build's: nothing written

    manifests = sorted(p.name for p in settings.published_dir.glob("build-*"))
    assert manifests == [f"{b.build_id}.json" for b in kept]
    read = set().union(*(publish.snapshot_files(b.snapshot or "") for b in kept))
    on_disk = set((settings.published_dir / publish.TABLES_DIR).iterdir())
    assert on_disk == read
    # roi 4, roi 5, and learner_skills: shared by every build since the first
    assert len(on_disk) == 3
    for build in kept:
        assert published(settings, build)["meta.build"] == [(build.build_id,)]


def test_forgetting_deletes_the_files_only_older_builds_read(settings: Settings) -> None:
    """Older builds go with the tables only they read; a table the new build shares stays."""
    write_marts(settings, **MARTS)
    old = record_a_build(settings)
    write_marts(settings, learner_skills=learner_skills(ADA))
    new = record_a_build(settings)
    assert old.snapshot is not None and new.snapshot is not None
    held = [p for p in publish.snapshot_files(old.snapshot) if "learner_skills" in p.name]

    deleted = forget.delete_snapshots_before(settings.published_dir, new.build_id)

    assert deleted == [old.snapshot, *map(str, held)]
    assert [Path(p).name for p in forget.snapshots(settings.published_dir)] == sorted(
        [Path(new.snapshot).name]
    ) + sorted(p.name for p in publish.snapshot_files(new.snapshot))
    for path in publish.published_files(settings.published_dir):
        if path.suffix == ".duckdb":
            con = duckdb.connect(str(path), read_only=True)
            assert forget.remaining(con, BOB) == {}, path
            con.close()
    assert published(settings, new)["roi_quarterly"] == [("2026-Q3", "pilot", 1.5)]


def test_two_connections_of_one_process_read_the_same_build(settings: Settings) -> None:
    write_marts(settings, **MARTS)
    build = record_a_build(settings)
    assert build.snapshot is not None
    first = publish.connect_snapshot(build.snapshot)
    second = publish.connect_snapshot(build.snapshot)
    query = "SELECT count(*) FROM marts.learner_skills"
    assert first.execute(query).fetchall() == second.execute(query).fetchall() == [(2,)]
    first.close()
    second.close()


def test_a_file_that_is_no_manifest_is_named(tmp_path: Path) -> None:
    not_a_build = tmp_path / "build-x.duckdb"
    not_a_build.write_bytes(b"DUCK")
    with pytest.raises(ValueError, match=r"build-x\.duckdb is not a published build.s manifest"):
        publish.connect_snapshot(not_a_build)
