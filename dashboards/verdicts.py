"""Plain-language verdicts of a cohort comparison, for L&D leaders.

The intervals themselves come from skillstream.stats, the one home of the comparison's
statistics, so the page and the marts use the same methods.
"""

from __future__ import annotations


def completion_verdict(
    cohort: str, baseline: str, difference: float, low: float, high: float, verb: str = "completes"
) -> str:
    """A plain-language sentence: "pilot completes 50 points more (95 % CI 29–65)"."""
    points, low_points, high_points = (round(x * 100) for x in (difference, low, high))
    direction = "more" if points >= 0 else "fewer"
    sentence = (
        f"{cohort} {verb} {abs(points)} points {direction} than {baseline} "
        f"(95 % CI {low_points}–{high_points})"
    )
    if low <= 0 <= high:
        sentence += f"; the data cannot tell it apart from {baseline}"
    return sentence
