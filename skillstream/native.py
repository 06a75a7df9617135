"""The compiled module (transforms/native/, Rust, built by `make`): the transform's normaliser,
held to the Python normaliser (`transforms/normalise.py`), its reference.

Without it, or with `SKILLSTREAM_NATIVE=0`, the transform normalises in Python: the same
results at about 3x the CPU (docs/transform.md).
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
