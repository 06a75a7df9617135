"""The plain-language verdict of a cohort comparison."""

from __future__ import annotations

from skillstream.dashboards.verdicts import (
    KpiStatus,
    completion_verdict,
    days_sooner,
    efficiency_sentence,
    pilot_headline,
)


def test_verdict_in_plain_language() -> None:
    assert completion_verdict("pilot", "control", 0.5, 0.29, 0.65) == (
        "pilot completes 50 points more than control (95 % CI 29–65)"
    )
    assert completion_verdict("pilot", "control", -0.12, -0.2, -0.04) == (
        "pilot completes 12 points fewer than control (95 % CI -20–-4)"
    )
    assert "cannot tell it apart" in completion_verdict("pilot", "control", 0.05, -0.02, 0.1)


def test_days_sooner_reads_without_negative_intervals() -> None:
    assert days_sooner(-9.7, -11.4, -8.1) == "9.7 days sooner (95 % CI 8.1 to 11.4 days sooner)"
    assert days_sooner(3.0, 1.0, 5.5) == "3.0 days later (95 % CI 1.0 to 5.5 days later)"
    assert days_sooner(-1.0, -4.0, 2.0) == (
        "1.0 days sooner (95 % CI 4.0 days sooner to 2.0 days later)"
    )


def test_pilot_headline_says_yes_no_or_mixed() -> None:
    better = KpiStatus("completion", "completion 75 % vs 27 %", True, 1)
    worse = KpiStatus("retention", "retention 40 % vs 60 %", False, -1)
    unclear = KpiStatus("mastery", "mastery 50 % vs 48 %", False, 0)
    assert pilot_headline([better, unclear]) == (
        "Yes — completion 75 % vs 27 %, mastery 50 % vs 48 %; mastery is still below target"
    )
    assert pilot_headline([unclear]).startswith("No — ")
    assert pilot_headline([better, worse]).startswith("Mixed — ")
    assert pilot_headline([better, worse, unclear]).endswith(
        "; retention and mastery are still below target"
    )


def test_efficiency_is_said_only_for_less_time_and_more_mastery() -> None:
    assert efficiency_sentence("pilot", "control", (83_000, 196_000), (0.7, 0.33)) == (
        "pilot spent 83,000 active minutes against 196,000 for control (58% less seat time) "
        "and mastered more: 70 % vs 33 %. Less time, more mastery."
    )
    assert efficiency_sentence("pilot", "control", (4_500, 2_700), (0.7, 0.33)) is None
    assert efficiency_sentence("pilot", "control", (83_000, 196_000), (0.3, 0.33)) is None
