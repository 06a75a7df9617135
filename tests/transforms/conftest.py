"""The transform's integration tests that run with each normaliser (fixture `normaliser`): the
compiled one where it is built, and the Python one (SKILLSTREAM_NATIVE=0) everywhere, so the
Python path is exercised end to end, not only chosen."""

from __future__ import annotations

import pytest

from skillstream.transforms.native_bridge import native_normaliser

NORMALISED_WITH = {
    "compiled": "normalising with the compiled normaliser",
    "python": "normalising with the Python normaliser",
}


@pytest.fixture(params=list(NORMALISED_WITH))
def normaliser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The normaliser the transform processes of the test run with; its log line is
    NORMALISED_WITH[normaliser]."""
    if request.param == "compiled" and native_normaliser() is None:
        pytest.skip(
            "the compiled normaliser is not built (needs Rust: `make python`) or "
            "SKILLSTREAM_NATIVE=0: only the Python normaliser runs"
        )
    if request.param == "python":
        monkeypatch.setenv("SKILLSTREAM_NATIVE", "0")
    return str(request.param)
