"""k-anonymity of everything shown: the one rule every page, the ROI report and its exports obey.

A row of a table is a group of learners (a cohort, a team × skill, a quarter, ...). Its figures
each derive from some of the group's distinct learners, named by basis columns that hold those
learners' counts (a completion rate derives from the learners who completed and the learners who
did not). The rule, with k the setting `k_anonymity`:

- a row whose group has fewer than k learners is hidden whole;
- complementary suppression: where the hidden rows of a sibling set (rows that together make
  a total shown elsewhere, e.g. the cohorts of one selection) hold fewer than k learners between
  them, the smallest visible sibling is hidden too, until the hidden part holds at least k
  learners or nothing is left, so that a total minus its visible parts recovers no small group;
- in a visible row, a figure any of whose basis counts is under k is hidden and shows as
  "fewer than k". A yes/no split (completed or not, mastered or not) needs k learners on each
  side, so that neither the count nor its rate tells the result of fewer than k people.

A works council may ask for a larger k below org level: `Privacy` gives each view its k.

The learner counts of sibling rows are added up: a learner in two sibling rows (two quarters,
say) counts in both, which overstates a hidden part's learners only where the parts overlap.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from skillstream.settings import Settings


@dataclass(frozen=True)
class Figure:
    """A shown column and the columns counting the distinct learners it derives from."""

    column: str
    basis: tuple[str, ...]


# Filters and groupings that make a view sub-team: it narrows to parts of teams or lists them.
SUBTEAM = frozenset({"team", "role"})


@dataclass(frozen=True)
class Privacy:
    """The k of each view: `k_anonymity`, or the larger `k_anonymity_subteam` for a view
    filtered or grouped by team or role."""

    k: int
    k_subteam: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Privacy:
        return cls(settings.k_anonymity, settings.k_anonymity_subteam)

    def k_for(self, filtered: Iterable[str], grouped: Iterable[str]) -> int:
        if SUBTEAM & (set(filtered) | set(grouped)):
            return max(self.k, self.k_subteam)
        return self.k


def fewer_than(k: int) -> str:
    return f"fewer than {k}"


@dataclass(frozen=True)
class Shown:
    """A table after the rule: visible rows only; hidden figures are NaN in `values`."""

    values: pd.DataFrame
    hidden: pd.DataFrame  # per visible row and figure column: hidden by the rule
    hidden_groups: int
    k: int
    counts: frozenset[str] = frozenset()  # figure columns of whole numbers

    def table(self) -> pd.DataFrame:
        """The values with every hidden figure written as "fewer than k" (tables, exports)."""
        table = self.values.astype(object)
        for column in self.hidden.columns:
            hidden = self.hidden[column].to_numpy()
            if column in self.counts:  # NaN made them floats: 30, not 30.0
                table.loc[~hidden, column] = table.loc[~hidden, column].map(int)
            table.loc[hidden, column] = fewer_than(self.k)
        return table


def suppress(
    frame: pd.DataFrame,
    figures: Sequence[Figure],
    k: int,
    group: str = "learners",
    siblings: Sequence[str] = (),
) -> Shown:
    """The frame as it may be shown: `group` counts each row's learners; rows that share the
    `siblings` columns' values make one total (no columns: the whole frame does). Basis columns
    that are not figures themselves are dropped."""
    hidden_rows = _hidden_rows(frame, k, group, siblings)
    visible = frame[~hidden_rows].reset_index(drop=True)
    figure_columns = {f.column for f in figures}
    basis_only = {c for f in figures for c in f.basis} - figure_columns - {group}
    hidden = pd.DataFrame(
        {f.column: _basis_under_k(visible, f.basis, k) for f in figures}, index=visible.index
    )
    values = visible.copy()
    for figure in figures:
        values[figure.column] = values[figure.column].astype(object)
        values.loc[hidden[figure.column].to_numpy(), figure.column] = None
        if values[figure.column].map(_is_number).all():
            values[figure.column] = pd.to_numeric(values[figure.column])
    return Shown(
        values=values.drop(columns=sorted(basis_only & set(values.columns))),
        hidden=hidden,
        hidden_groups=int(hidden_rows.sum()),
        k=k,
        counts=frozenset(
            f.column for f in figures if pd.api.types.is_integer_dtype(frame[f.column])
        ),
    )


def _is_number(value: object) -> bool:
    return value is None or isinstance(value, numbers.Number)  # numpy's too


def _basis_under_k(frame: pd.DataFrame, basis: tuple[str, ...], k: int) -> pd.Series:
    under = pd.Series(False, index=frame.index)
    for column in basis:
        under |= frame[column].fillna(0) < k
    return under


def _hidden_rows(frame: pd.DataFrame, k: int, group: str, siblings: Sequence[str]) -> pd.Series:
    hidden = frame[group].fillna(0) < k
    parts = frame.groupby(list(siblings), dropna=False) if siblings else [((), frame)]
    for _, part in parts:
        rows = part.index
        learners = frame.loc[rows, group].fillna(0)
        while True:
            hidden_learners = learners[hidden[rows]].sum()
            visible = learners[~hidden[rows]]
            if hidden_learners == 0 or hidden_learners >= k or visible.empty:
                break
            hidden[visible.idxmin()] = True
    return hidden
