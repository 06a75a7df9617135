"""Simulator benchmark: statements generated per second, and written as NDJSON.

    python -m bench.bench_simulate        (part of `make bench`)

generate: `simulate()` for the default organisation (500 learners, 90 days), best of 3,
one core. write: the same statements serialised with orjson to a file, as
`skillstream simulate --out` does. The target is at least 50,000 statements/s generated,
so a 10M-statement warehouse for the dashboard benchmark takes minutes, not hours.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.common import peak_rss_mib, write_result
from skillstream.ingestion.simulate import simulate

LEARNERS, DAYS, SEED = 500, 90, 7


def bench_generate(passes: int = 3) -> dict[str, Any]:
    best, count = float("inf"), 0
    for _ in range(passes):
        start = time.perf_counter()
        _, statements = simulate(LEARNERS, DAYS, SEED)
        count = sum(1 for _ in statements)
        best = min(best, time.perf_counter() - start)
    return {
        "learners": LEARNERS,
        "days": DAYS,
        "statements": count,
        "seconds": round(best, 3),
        "statements_per_s": round(count / best),
    }


def bench_write() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "statements.ndjson"
        start = time.perf_counter()
        _, statements = simulate(LEARNERS, DAYS, SEED)
        count = 0
        with path.open("wb") as handle:
            for statement in statements:
                handle.write(orjson.dumps(statement) + b"\n")
                count += 1
        seconds = time.perf_counter() - start
        size = path.stat().st_size
    return {
        "statements": count,
        "seconds": round(seconds, 3),
        "statements_per_s": round(count / seconds),
        "avg_bytes": round(size / count),
    }


def main() -> None:
    results = {
        "note": "one core; run on the shared development machine (other engineers' tests running)",
        "generate": bench_generate(),
        "write_ndjson": bench_write(),
        "peak_rss_mib": peak_rss_mib(),
    }
    path = write_result("simulate", results)
    print(path.read_text())


if __name__ == "__main__":
    main()
