"""Batch imports of HR and business data from CSV: the column checks and row errors they share."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path


class ImportFileError(ValueError):
    """The file cannot be imported at all (missing or unknown columns, not a CSV)."""


def csv_rows(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, stripped cells) per data row, after checking the header."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in required if c not in columns]
        if missing:
            raise ImportFileError(f"{path}: missing column(s) {', '.join(missing)}")
        unknown = [c for c in columns if c not in required + optional]
        if unknown:
            raise ImportFileError(f"{path}: unknown column(s) {', '.join(unknown)}")
        for row in reader:
            yield (
                reader.line_num,
                {k.strip(): (v or "").strip() for k, v in row.items() if k is not None},
            )
