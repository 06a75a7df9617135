"""The k-anonymity rule on small hand-made tables: small groups, yes/no splits, complements."""

from __future__ import annotations

import pandas as pd

from skillstream.dashboards.suppression import Figure, Privacy, suppress
from skillstream.settings import Settings

FIGURES = (
    Figure("learners", ("learners",)),
    Figure("completed", ("completed_learners", "not_completed_learners")),
    Figure("completion_rate", ("completed_learners", "not_completed_learners")),
)


def frame(*rows: tuple[str, int, int]) -> pd.DataFrame:
    """(cohort, learners, completed), one program per learner."""
    return pd.DataFrame(
        [
            {
                "cohort": cohort,
                "learners": learners,
                "completed": completed,
                "completion_rate": completed / learners,
                "completed_learners": completed,
                "not_completed_learners": learners - completed,
            }
            for cohort, learners, completed in rows
        ]
    )


def test_a_group_under_k_is_hidden_whole_and_a_sibling_with_it() -> None:
    shown = suppress(frame(("a", 3, 1), ("b", 20, 10), ("c", 40, 20)), FIGURES, k=5)
    # a alone (3 learners) would follow from the total minus b and c: b goes too
    assert list(shown.values["cohort"]) == ["c"]
    assert shown.hidden_groups == 2


def test_hidden_groups_holding_k_learners_between_them_need_no_second() -> None:
    shown = suppress(frame(("a", 3, 1), ("b", 2, 1), ("c", 40, 20)), FIGURES, k=5)
    assert list(shown.values["cohort"]) == ["c"]
    assert shown.hidden_groups == 2


def test_siblings_are_counted_within_their_total() -> None:
    rows = frame(("a", 3, 1), ("b", 20, 10), ("a", 30, 10), ("b", 20, 10))
    rows["program"] = ["p", "p", "q", "q"]
    shown = suppress(rows, FIGURES, k=5, siblings=("program",))
    assert list(zip(shown.values["program"], shown.values["cohort"], strict=True)) == [
        ("q", "a"),
        ("q", "b"),
    ]


def test_a_split_with_fewer_than_k_on_one_side_reads_fewer_than_k() -> None:
    shown = suppress(frame(("a", 6, 1), ("b", 20, 17), ("c", 20, 10)), FIGURES, k=5)
    table = shown.table().set_index("cohort")
    # one of a's six completed, three of b's twenty did not: neither count nor rate is shown
    assert table.loc["a", "completed"] == "fewer than 5"
    assert table.loc["a", "completion_rate"] == "fewer than 5"
    assert table.loc["b", "completion_rate"] == "fewer than 5"
    assert table.loc["a", "learners"] == 6
    assert table.loc["c", "completion_rate"] == 0.5
    assert table.loc["c", "completed"] == 10 and isinstance(table.loc["c", "completed"], int)
    assert pd.isna(shown.values.set_index("cohort").loc["a", "completion_rate"])
    assert "completed_learners" not in shown.values.columns  # basis only, never shown


def test_privacy_gives_sub_team_views_the_larger_k(settings: Settings) -> None:
    privacy = Privacy(k=5, k_subteam=10)
    assert privacy.k_for(["cohort", "quarter"], ["cohort"]) == 5
    assert privacy.k_for(["role"], ["cohort"]) == 10
    assert privacy.k_for([], ["team"]) == 10
    assert Privacy(k=5).k_for(["team"], ["role"]) == 5
    assert Privacy.from_settings(settings) == Privacy(settings.k_anonymity, 0)
