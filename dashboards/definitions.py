"""The metric definitions of docs/design.md §4, quoted: one home for the Metric definitions page
and the method notes of the ROI report."""

from __future__ import annotations

from skillstream.settings import Settings


def preamble(settings: Settings) -> str:
    """What every definition assumes, with the settings in force (never a literal of them)."""
    k_subteam = (
        f"; k = {settings.k_anonymity_subteam} for views filtered or grouped by team or role "
        "(setting k_anonymity_subteam)"
        if settings.k_anonymity_subteam > settings.k_anonymity
        else ""
    )
    return (
        "All over non-voided, valid statements; times in UTC; mastery threshold "
        f"θ = {settings.mastery_threshold:g} (setting mastery_threshold). "
        "A program is an activity that any statement declares with definition.type "
        "http://adlnet.gov/expapi/activities/course; a statement belongs to it when its object "
        "is the program or the program is in context.contextActivities.parent or grouping. "
        "A learner's quarter for a program or skill is the UTC calendar quarter (2026Q3) of "
        "their first statement belonging to it. The cohort of a learner comes from the roster, "
        "else from the latest cohort extension on their statements, else unassigned; the "
        f"baseline cohort is {settings.baseline_cohort} (setting baseline_cohort). Nothing shown "
        "derives from fewer than k distinct learners "
        f"(k = {settings.k_anonymity}, setting k_anonymity{k_subteam}): a smaller group is "
        "hidden, a figure resting on fewer than k learners (a count, a rate whose yes or no "
        "side has fewer than k, a median) reads “fewer than k”, and a second group is hidden "
        "where a total and the visible groups would give a hidden one away."
    )


# (anchor, metric, definition)
METRICS: list[tuple[str, str, str]] = [
    ("enrolled", "enrolled", "learners with ≥ 1 statement belonging to the program"),
    (
        "completed",
        "completed",
        "learners with a completed or passed statement, or result.completion = true, whose "
        "object is the program",
    ),
    ("completion-rate", "completion_rate", "completed / enrolled"),
    ("first-seen-at", "first_seen_at(learner, skill)", "earliest statement tagged with the skill"),
    (
        "mastered-at",
        "mastered_at(learner, skill)",
        "earliest statement tagged with the skill with result.score.scaled ≥ θ, or verb "
        "http://adlnet.gov/expapi/verbs/mastered (mastery rate = share of learners × skills "
        "mastered)",
    ),
    (
        "days-to-competency",
        "days_to_competency",
        "(mastered_at − first_seen_at) in days, fractional; reported as median and p75 over "
        "learners who reached it, with the share who reached it",
    ),
    (
        "retention-30d",
        "retention_30d",
        "over learners with a scored statement on the skill at or after mastered_at + 30 days: "
        "share whose first such statement has score.scaled ≥ θ",
    ),
    (
        "seat-time-hours",
        "seat_time_hours",
        "sum of result.duration (hours) of the statements belonging to the program, over the "
        "learners of the row",
    ),
    (
        "capability",
        "capability",
        "per learner × skill: mastered (bool), latest score; per team × skill: the share of the "
        "team's learners who mastered the skill, where a team's learners are its members with "
        "at least one statement in a program or on a skill (roster members without one are not "
        "counted; a filter narrows them)",
    ),
    (
        "cohort-comparison",
        "cohort comparison",
        "each cohort against the baseline cohort (setting baseline_cohort), per program and per "
        "skill, where each learner counts once, so the units are independent: "
        "difference in completion rate with a 95% Newcombe–Wilson interval, difference in median "
        "days_to_competency with a 95% bootstrap interval, difference in retention_30d, and the "
        "n of each side",
    ),
    (
        "roi-phillips",
        "ROI (Phillips)",
        "costs = programme cost + seat-time cost; benefits = value of seat time saved against the "
        "baseline cohort + value of days of competency gained + KPI-linked gains; ROI% = "
        "(benefits − costs) / costs × 100; BCR = benefits / costs; payback months. Every "
        "assumption (spend per learner, hourly cost, value of a competent day) comes from "
        "settings and is printed on the report",
    ),
    (
        "engagement",
        "engagement",
        "per week (Monday, UTC) and group: active learners (learners with ≥ 1 statement), "
        "sessions, active minutes, practice attempts, hints requested and feedback given "
        "(marts.engagement_weekly; docs/design.md §4)",
    ),
    (
        "engagement-by-hour",
        "engagement by weekday and hour",
        "sessions by the ISO weekday (Monday first) and UTC hour they start in, with the "
        "learners who started one then (marts.engagement_by_hour); its sessions add up to the "
        "weekly engagement's",
    ),
    (
        "at-risk",
        "at risk",
        "a learner is at risk in a program when they have a statement in it other than "
        "launched, have not completed it, and their latest statement in it is at least "
        "at_risk_inactive_days days old (setting); each week is judged at its end, the current "
        "week at the build's time (marts.at_risk_weekly). Names appear only in `skillstream "
        "report at-risk`, from a roster its user holds (docs/privacy.md)",
    ),
    (
        "item-difficulty",
        "item difficulty",
        "per assessment item (an activity of type question, interaction or cmi.interaction, or "
        "with an interactionType, answered with a result.success): correct answers / answers "
        "over every attempt; higher is easier",
    ),
    (
        "first-attempt-correct-rate",
        "first-attempt share correct",
        "learners right at their first attempt at the item / learners who answered it",
    ),
    (
        "discrimination",
        "discrimination",
        "the point-biserial correlation (Pearson's r with a 0/1 variable) of the item's "
        "first-attempt correctness with the learner's share correct at first attempts on the "
        "rest of the assessment, the item itself left out; empty when either side is constant",
    ),
    (
        "item-flags",
        "item flags",
        "the first that applies: too easy (difficulty above 0.95, dbt var item_too_easy_above), "
        "too hard (below 0.2, item_too_hard_below), discriminates negatively (below 0); "
        "flagged items are listed first",
    ),
    (
        "drop-off",
        "drop-off funnel",
        "per program and cohort, the learners who reached each step: launched (any statement "
        "in the program), each module (an activity of type module or lesson in it, ordered by "
        "the median across learners of the time from their first statement in the program to "
        "their first visit, the same order for every cohort), completed (marts.program_funnel)",
    ),
]
