"""The compiled module (transforms/native/, Rust, built by `make`): the transform's normaliser,
held to the Python normaliser (`transforms/normalise.py`), its reference; and `ingest file`'s
NDJSON reader (`ingestion/intake.py`), held to the file source's Python reader.

Without it, or with `SKILLSTREAM_NATIVE=0`, the transform normalises in Python and `ingest
file` reads with the Python reader: the same results at about 3x (transform,
docs/transform.md) and 2x (ingest, docs/sources.md) the CPU.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger("skillstream.native")

try:
    import skillstream_native as _module
except ModuleNotFoundError:  # pragma: no cover - a machine without Rust
    _module = None
except ImportError as error:  # pragma: no cover - built, but it does not load here: say so
    log.warning(
        "the compiled module (transforms/native/) does not load (%s); "
        "the transform normalises in Python",
        error,
    )
    _module = None


def compiled() -> Any:
    """The compiled module, or None when it is not built or turned off (SKILLSTREAM_NATIVE=0)."""
    if os.environ.get("SKILLSTREAM_NATIVE", "1") == "0":
        return None
    return _module
