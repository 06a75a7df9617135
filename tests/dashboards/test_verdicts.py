"""The plain-language verdict of a cohort comparison."""

from __future__ import annotations

from skillstream.dashboards.verdicts import completion_verdict


def test_verdict_in_plain_language() -> None:
    assert completion_verdict("pilot", "control", 0.5, 0.29, 0.65) == (
        "pilot completes 50 points more than control (95 % CI 29–65)"
    )
    assert completion_verdict("pilot", "control", -0.12, -0.2, -0.04) == (
        "pilot completes 12 points fewer than control (95 % CI -20–-4)"
    )
    assert "cannot tell it apart" in completion_verdict("pilot", "control", 0.05, -0.02, 0.1)
