"""The gate's child process and its result, without Great Expectations: a build starts the
checkpoint's process (skillstream.quality.checkpoint) and reads its result here, so only the
child pays for importing GX."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skillstream.settings import Settings

# What the child reads on its standard input before it opens the warehouse and runs.
GO = "run"


@dataclass
class ExpectationOutcome:
    suite: str
    expectation: str  # the GX type, or the `check` name of a SQL expectation
    column: str | None
    success: bool
    observed: Any = None
    description: str | None = None
    table: str | None = None  # schema.table the suite checked
    covered: str | None = None  # which of its rows, in words ("new slice: 120 rows ...")


@dataclass
class GateResult:
    success: bool
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    data_docs: Path | None = None

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


class PendingGate:
    """The checkpoint's child process, started before it is needed: importing Great
    Expectations takes seconds of CPU, which a build spends while dbt runs (dbt's parse and
    its waits leave a core free). The child imports, then waits for `run` or `cancel`; it
    opens the warehouse only once told to run."""

    def __init__(self, settings: Settings, build_id: str, checked_after: str | None = None):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "skillstream.quality.checkpoint",
                build_id,
                *([checked_after] if checked_after else []),
            ],
            env=settings.child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self) -> GateResult:
        """The checkpoint's result; a crash of GX fails the gate with its error."""
        stdout, stderr = self.process.communicate(f"{GO}\n")
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if self.process.returncode != 0 or not lines:
            detail = (stderr.strip().splitlines() or ["no output"])[-1]
            return GateResult(
                success=False,
                outcomes=[ExpectationOutcome("checkpoint", "run", None, False, f"error: {detail}")],
            )
        payload = json.loads(lines[-1])
        return GateResult(
            success=payload["success"],
            outcomes=[ExpectationOutcome(**o) for o in payload["outcomes"]],
            data_docs=Path(payload["data_docs"]) if payload["data_docs"] else None,
        )

    def cancel(self) -> None:
        """No checkpoint (dbt failed): the child, which has not opened the warehouse, is
        stopped."""
        self.process.kill()
        self.process.communicate()


def run_gate(settings: Settings, build_id: str, checked_after: str | None = None) -> GateResult:
    """Run the checkpoint in a child process (PendingGate) now. `checked_after` (ISO timestamp,
    UTC): raw.statements' rows landed after it are checked."""
    return PendingGate(settings, build_id, checked_after).run()
