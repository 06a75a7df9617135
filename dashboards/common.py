"""What every page shows around its charts: the published build, the sidebar filters, the
k-anonymity rule and each chart's provenance line. Layout only; SQL lives in data.py."""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from skillstream.dashboards import data, figures, labels, suppression
from skillstream.run import freshness_line

# Metric -> anchor on the Metric definitions page (which quotes docs/design.md §4).
DEFINITIONS = {
    "enrolled": "enrolled",
    "completion_rate": "completion-rate",
    "days_to_competency": "days-to-competency",
    "retention_30d": "retention-30d",
    "seat_time_hours": "seat-time-hours",
    "capability": "capability",
    "cohort_comparison": "cohort-comparison",
    "roi": "roi-phillips",
    "engagement": "engagement",
    "mastery_rate": "mastered-at",
    "engagement_by_hour": "engagement-by-hour",
    "program_funnel": "drop-off",
    "at_risk": "at-risk",
}


def published_or_stop(title: str) -> figures.Published:
    """The page title, and the published build (or a note of what to do, and stop)."""
    st.title(title)
    build = data.published_build()
    if build is None:
        st.info(
            "No build has been published yet. Run `skillstream build` after landing statements."
        )
        st.stop()
    st.caption(freshness_line())
    if not build.newest_is_published and build.newest_build_id != build.build_id:
        reasons = "; ".join(f"{f['check']} ({f['detail']})" for f in build.newest_failures[:3])
        st.warning(
            f"The newest build {build.newest_build_id} was held back by the quality gate: "
            f"{reasons}. Showing the last published build."
        )
    if holds_no_learner(build):
        st.info(
            f"The published build {build.build_id} holds no learner statements yet, so there "
            "is nothing to show here. Land statements (`skillstream ingest FILE`, then "
            "`skillstream transform`) and run `skillstream build`; `skillstream demo` shows a "
            "simulated organisation."
        )
        st.stop()
    return build


def holds_no_learner(build: figures.Published) -> bool:
    """Whether the build's learner-grain mart is there and empty (no statement was landed)."""
    if figures.missing_tables(build, "learner_programs"):
        return False
    return int(figures.query(build, "SELECT count(*) FROM marts.learner_programs").iat[0, 0]) == 0


def statements_bars(frame: pd.DataFrame, period: str, title: str) -> alt.Chart:
    """A bar of `statements` per `period` (a time column of the frame)."""
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=alt.X(f"{period}:T", title=None),
            y=alt.Y("statements:Q", title=None, axis=alt.Axis(format=",d", tickMinStep=1)),
            tooltip=[period, "statements"],
        )
    )


def require_marts(build: figures.Published, *tables: str) -> None:
    missing = figures.missing_tables(build, *tables)
    if missing:
        st.info(
            "The published build has no "
            + ", ".join(f"marts.{t}" for t in missing)
            + ". Run `skillstream build` with this version of skillstream."
        )
        st.stop()


def sidebar_filters(
    build: figures.Published, names: tuple[str, ...] = figures.FILTER_NAMES
) -> figures.Filters:
    """The filters org, team, role, cohort, program, skill, quarter. They are kept across pages
    (Streamlit forgets a page's widgets when another page runs) and written to the URL, so a
    view can be bookmarked or sent; opening such a link restores it."""
    options = data.filter_options(build)
    named = subject_name(build)
    kept: dict[str, tuple[str, ...]] = st.session_state.setdefault("filters", _from_url())
    chosen: dict[str, tuple[str, ...]] = {}
    with st.sidebar:
        st.subheader("Filters")
        for name in names:
            key = f"filter_{name}"
            st.session_state[key] = [v for v in kept.get(name, ()) if v in options.get(name, [])]
            values = st.multiselect(
                name.capitalize(),
                options.get(name, []),
                key=key,
                placeholder="All",
                format_func=named if name in ("program", "skill") else str,
                on_change=_keep,
                args=(name,),
            )
            if values:
                chosen[name] = tuple(values)
    st.query_params.from_dict({n: list(v) for n, v in kept.items() if v})
    return figures.Filters(chosen)


def subject_name(build: figures.Published) -> Callable[[str], str]:
    """A programme's or skill's IRI -> its name (labels.subject_name), for widgets and tables."""
    names = figures.subject_names(build)
    return lambda iri: labels.subject_name(iri, names)


def _keep(name: str) -> None:
    st.session_state["filters"][name] = tuple(st.session_state[f"filter_{name}"])


def _from_url() -> dict[str, tuple[str, ...]]:
    return {name: tuple(st.query_params.get_all(name)) for name in figures.FILTER_NAMES}


# Okabe–Ito colours: told apart with colour blindness and readable on light and dark themes
COHORT_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


def cohort_colour(build: figures.Published, title: str | None = "Cohort") -> alt.Color:
    """One colour per cohort on every chart and in both themes (the themes' own palettes
    differ): the build's cohorts in name order, each its palette colour."""
    cohorts = sorted(data.filter_options(build).get("cohort", []))
    palette = [COHORT_PALETTE[i % len(COHORT_PALETTE)] for i in range(len(cohorts))]
    scale = alt.Scale(domain=cohorts, range=palette)
    return alt.Color(
        "cohort:N", title=title, scale=scale, legend=None if title is None else alt.Legend()
    )


def nothing_to_show(filters: figures.Filters, k: int) -> None:
    """Everything is hidden by the k rule: say so in plain words, and which filter to widen."""
    chosen = [name for name, values in filters.chosen.items() if values]
    advice = (
        f"Widen or clear the {', '.join(chosen)} filter{'s' if len(chosen) > 1 else ''}."
        if chosen
        else "The published build holds no group that large."
    )
    st.info(
        f"No group is large enough to show: every group here has fewer than {k} learners, "
        f"and figures about so few people could point to one of them. {advice}"
    )


def note_ignored(filters: figures.Filters, table: str) -> None:
    ignored = filters.ignored_by(table)
    if ignored:
        st.caption(f"Filter(s) {', '.join(ignored)} do not apply to this view ({table}).")


def provenance(build: figures.Published, metric: str, label: str | None = None) -> None:
    """Under each chart: when its data was built and a link to its metric's definition."""
    anchor = DEFINITIONS[metric]
    built = pd.Timestamp(build.built_at).strftime("%Y-%m-%d %H:%M")
    st.caption(
        f"Built {built} UTC (build {build.build_id}) · "
        f"[definition of {label or metric.replace('_', ' ')}](./definitions#{anchor})"
    )


def note_hidden(*tables: suppression.Shown, what: str = "group") -> None:
    """Say how many groups the k-anonymity rule hides, and that some figures are hidden."""
    k = max((t.k for t in tables), default=data.privacy().k)
    hidden = max((t.hidden_groups for t in tables), default=0)
    if hidden:
        st.caption(
            f"{hidden} {what}(s) with fewer than {k} learners, or that would let one be "
            "worked out from a total, are hidden, so that no one can be singled out."
        )
    if any(t.hidden.to_numpy().any() for t in tables):
        st.caption(
            f"Figures resting on fewer than {k} learners show as “fewer than {k}” or are left "
            "out of the charts."
        )
