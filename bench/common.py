"""What every benchmark shares: the machine it ran on, and where its result goes.

A benchmark is a script `bench/bench_<area>.py` with a `main()` that measures, then calls
`write_result("<area>", {...})`. `make bench` runs them all; results land in
`bench/results/<area>.json` (committed) so a change that moves a number shows in review.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_kb = int(line.split()[1])
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "ran_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def peak_rss_mib() -> float:
    """The peak resident memory of this process so far."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _descendants_rss_bytes(root: int) -> int:
    """The resident memory of `root`'s descendants, summed (pages they share count twice)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3 (state) on
        pid, ppid = int(entry.name), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21])  # field 24: resident pages
    total, waiting = 0, list(children.get(root, []))
    while waiting:
        pid = waiting.pop()
        total += rss[pid]
        waiting.extend(children.get(pid, []))
    return total * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def children_peak_rss_mib(every: float = 0.5) -> Iterator[dict[str, float]]:
    """{"peak": MiB}: the largest resident memory of this process's descendants (dbt, the
    gate's process) while the block runs, sampled every `every` seconds. (ru_maxrss of the
    children would not do: a child's high-water mark starts from its parent's.)"""
    peak = {"peak": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            mib = _descendants_rss_bytes(os.getpid()) / 1024 / 1024
            peak["peak"] = round(max(peak["peak"], mib), 1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()


def write_result(area: str, measurements: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{area}.json"
    path.write_text(json.dumps({"machine": machine(), **measurements}, indent=2) + "\n")
    return path
