"""A simulated organisation: roster, KPIs and the xAPI statements its learners produce.

Deterministic by seed (and start date). Learners work in orgs, teams and roles; half of the
teams are the `pilot` cohort (the LMS course plus an AI tutor), the rest `control` (the
course alone). Every learner of both cohorts takes the LMS course (program declared with
definition.type course, lessons with the course as parent, `completed` on the course),
practises (pilot: AI-tutor sessions shaped exactly as the `tutor` source maps them — items
with skill and difficulty, answers with score, hints, feedback; control: LMS practice
quizzes), masters each skill with a scored assessment, and returns for a delayed retention
check 30-44 days after mastery.

Planted effects (`Effects`, settable by name) follow the L&D literature by default: control
completion 25 %, pilot 75 %; pilot time to competency half of control's; 30-day retention
15 % in control, doubled in the pilot; $1,500 per employee per year. The KPI rises by
`kpi_gain` in both cohorts from a learner's program start, and by `pilot_kpi_effect` tickets a
day more in the pilot: the pilot's difference in differences (marts.kpi_effects) is
`pilot_kpi_effect`, whatever the cohorts' mastery and timing. Because every scored
statement on a skill before mastery is below θ and the retention check is the only scored
statement on it after mastery, the marts' definitions (docs/design.md §4) recover exactly what was
planted, up to sampling noise and the end of the simulated window. A share of the learners
(`unreported_duration_share`, 10 %) send no result.duration at all: their seat time is unknown.
"""

from __future__ import annotations

import csv
import json
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from skillstream.ingestion.sources.tutor import (
    _NAMESPACE as TUTOR_NAMESPACE,
)
from skillstream.ingestion.sources.tutor import (
    INTERACTION_TYPE,
    SESSION_TYPE,
    TUTOR_TYPE,
    VERB_DISPLAY,
)
from skillstream.xapi.profile import (
    ADL_VERBS,
    ASSESSMENT_TYPE,
    COURSE_TYPE,
    EXT_COHORT,
    EXT_DIFFICULTY,
    EXT_FEEDBACK_KIND,
    EXT_HINT_LEVEL,
    EXT_ORG,
    EXT_ROLE,
    EXT_SKILL,
    EXT_SOURCE_EVENT,
    EXT_TEAM,
    EXT_TUTOR_SESSION,
    FEEDBACK_RECEIVED_VERB,
    HINT_REQUESTED_VERB,
    ITEM_SERVED_VERB,
    MODULE_TYPE,
)

DEFAULT_START = date(2026, 7, 1)
MASTERY_THRESHOLD = 0.8  # the default θ of docs/design.md §4; scores are planted around it
ORGS = ("acme-europe", "acme-americas")
ROLES = ("analyst", "engineer", "manager", "specialist", "support")
HOURLY_COST = {
    "analyst": 55.0,
    "engineer": 70.0,
    "manager": 85.0,
    "specialist": 60.0,
    "support": 45.0,
}
TEAM_SIZE = 12
KPI_NAME = "tickets_resolved_per_day"

LMS = "https://lms.acme.example"
COURSE_ID = f"{LMS}/courses/data-literacy"
COURSE_NAME = "Data literacy"
LESSONS = ("reading-charts", "statistics-basics", "spreadsheets", "visualisation", "storytelling")
SKILLS = (
    "https://skills.acme.example/data-analysis",
    "https://skills.acme.example/data-storytelling",
)
TUTOR = "https://tutor.acme.example"

# Where learners who do not complete the course stop: after lesson n, with these weights.
# Most stop after statistics-basics, so the funnel's planted drop-off is into DROP_OFF_LESSON.
STOPS_AFTER_LESSON = {1: 0.1, 2: 0.7, 3: 0.1, 4: 0.1}
DROP_OFF_LESSON = LESSONS[2]

# The checkpoint quiz after the first lesson: choice items answered with the chance of a
# two-parameter logistic model, logistic(discrimination x (ability - difficulty)), ability
# ~ N(0, 1) per learner. Five ordinary items, and three planted for the item analysis.
CHECKPOINT_ID = f"{COURSE_ID}/assessments/checkpoint"
ITEM_MODEL = {  # item name: (discrimination, difficulty)
    "q1-bar-or-line": (1.2, -0.6),
    "q2-mean-or-median": (1.2, -0.2),
    "q3-sample-size": (1.2, 0.2),
    "q4-axis-origin": (1.2, 0.6),
    "q5-percent-change": (1.2, 0.0),
    "q6-chart-title": (1.5, -4.5),  # almost everyone is right: too easy
    "q7-simpsons-paradox": (1.5, 3.5),  # almost everyone is wrong: too hard
    "q8-ambiguous-wording": (-1.2, 0.0),  # the stronger learners misread it
}
PLANTED_ITEMS = {
    "too_easy": f"{CHECKPOINT_ID}/items/q6-chart-title",
    "too_hard": f"{CHECKPOINT_ID}/items/q7-simpsons-paradox",
    "negative_discrimination": f"{CHECKPOINT_ID}/items/q8-ambiguous-wording",
}
CHOICES = ("a", "b", "c", "d")
RETRY_SHARE = 0.5  # learners answering an item wrong who try it once more


@dataclass(frozen=True)
class Effects:
    """The planted truth; every field can be set by name (`--effect NAME=VALUE`)."""

    control_completion: float = 0.25  # share of control learners who complete the course
    pilot_completion: float = 0.75
    control_mastery: float = 0.6  # share of control learners who master a skill
    pilot_mastery: float = 0.8
    control_days_to_competency: float = 20.0  # median days from first sight of a skill to mastery
    pilot_time_to_competency_change: float = -0.5  # pilot median = control x (1 + change)
    control_retention_30d: float = 0.15  # share still at θ at the check 30-44 days after mastery
    pilot_retention_factor: float = 2.0  # pilot retention = control x factor
    spend_per_employee_year: float = 1500.0  # programme spend, USD per learner per year
    kpi_baseline: float = 20.0  # tickets resolved per day before training (mean)
    # A course moves a support KPI by a few per cent, not tens: with the ROI's KPI benefit
    # counted over a year, these give the demo's pilot an ROI of about 100 %, not 600 %.
    kpi_gain: float = 0.02  # relative KPI change from the program start, both cohorts
    pilot_kpi_effect: float = 0.5  # tickets a day more from the program start, pilot only
    value_per_kpi_unit: float = 12.0  # USD per ticket resolved (written to settings.toml)
    pilot_share: float = 0.5  # share of teams in the pilot
    unreported_duration_share: float = 0.1  # learners whose statements carry no duration

    def completion(self, cohort: str) -> float:
        return self.pilot_completion if cohort == "pilot" else self.control_completion

    def mastery(self, cohort: str) -> float:
        return self.pilot_mastery if cohort == "pilot" else self.control_mastery

    def median_days_to_competency(self, cohort: str) -> float:
        base = self.control_days_to_competency
        return base * (1 + self.pilot_time_to_competency_change) if cohort == "pilot" else base

    def retention(self, cohort: str) -> float:
        base = self.control_retention_30d
        return min(1.0, base * self.pilot_retention_factor) if cohort == "pilot" else base

    def with_settings(self, assignments: list[str] | tuple[str, ...]) -> Effects:
        """These effects with `NAME=VALUE` assignments applied; ValueError names a bad one."""
        known = {f.name for f in fields(self)}
        changes: dict[str, float] = {}
        for assignment in assignments:
            name, sep, text = assignment.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in known:
                raise ValueError(
                    f"--effect {assignment!r}: expected NAME=VALUE with NAME one of "
                    + ", ".join(sorted(known))
                )
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"--effect {assignment!r}: {text!r} is not a number") from None
            if not math.isfinite(value):
                raise ValueError(f"--effect {assignment!r}: must be finite")
            changes[name] = value
        effects = replace(self, **changes)
        effects.check()
        return effects

    def check(self) -> None:
        shares = (
            "control_completion",
            "pilot_completion",
            "control_mastery",
            "pilot_mastery",
            "control_retention_30d",
            "pilot_share",
            "unreported_duration_share",
        )
        for name in shares:
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"effect {name}: must be a share from 0 to 1")
        if self.control_days_to_competency <= 0:
            raise ValueError("effect control_days_to_competency: must be positive")
        if self.pilot_time_to_competency_change <= -1:
            raise ValueError("effect pilot_time_to_competency_change: must be above -1")
        for name in (
            "pilot_retention_factor",
            "spend_per_employee_year",
            "kpi_baseline",
            "value_per_kpi_unit",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"effect {name}: must not be negative")


DEFAULT_EFFECTS = Effects()


@dataclass(frozen=True)
class Learner:
    index: int
    email: str
    name: str
    org: str
    team: str
    role: str
    cohort: str

    @property
    def hourly_cost(self) -> float:
        return HOURLY_COST[self.role]


def organisation(
    learners: int, rng: random.Random, effects: Effects = DEFAULT_EFFECTS
) -> list[Learner]:
    """Teams of about TEAM_SIZE in two orgs; `pilot_share` of the teams (spread over both
    orgs) are the pilot cohort."""
    team_count = max(2, round(learners / TEAM_SIZE))
    pilots = round(team_count * effects.pilot_share)
    order = list(range(team_count))
    # interleave so each org gets pilot and control teams: pilot teams are every other one
    pilot_teams = set(sorted(order, key=lambda t: (t % 2, t))[:pilots])
    people = []
    for i in range(learners):
        team = i % team_count
        people.append(
            Learner(
                index=i,
                email=f"learner{i:05d}@acme.example",
                name=f"Learner {i:05d}",
                org=ORGS[(team // 2) % len(ORGS)],
                team=f"team-{team + 1:02d}",
                role=ROLES[rng.randrange(len(ROLES))],
                cohort="pilot" if team in pilot_teams else "control",
            )
        )
    return people


def _timestamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds") + "Z"


def _duration(seconds: float) -> str:
    return f"PT{int(seconds // 60)}M{int(seconds % 60)}S"


_COURSE = {
    "objectType": "Activity",
    "id": COURSE_ID,
    "definition": {"type": COURSE_TYPE, "name": {"en-US": COURSE_NAME}},
}
_COURSE_REF = [{"objectType": "Activity", "id": COURSE_ID, "definition": {"type": COURSE_TYPE}}]
_TUTOR_GROUPING = [{"objectType": "Activity", "id": TUTOR, "definition": {"type": TUTOR_TYPE}}]


def _activity(kind: str, name: str, activity_type: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": f"{COURSE_ID}/{kind}/{name}",
        "definition": {"type": activity_type, "name": {"en-US": name.replace("-", " ")}},
    }


_LESSONS = [_activity("lessons", name, MODULE_TYPE) for name in LESSONS]
_ASSESSMENTS = {
    skill: _activity("assessments", skill.rsplit("/", 1)[1], ASSESSMENT_TYPE) for skill in SKILLS
}
_RETENTION = {
    skill: _activity("retention-checks", skill.rsplit("/", 1)[1], ASSESSMENT_TYPE)
    for skill in SKILLS
}
_QUIZZES = {
    skill: _activity("quizzes", skill.rsplit("/", 1)[1], ASSESSMENT_TYPE) for skill in SKILLS
}
_CHECKPOINT_REF = {
    "objectType": "Activity",
    "id": CHECKPOINT_ID,
    "definition": {"type": ASSESSMENT_TYPE},
}


def _choice_item(number: int, name: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": f"{CHECKPOINT_ID}/items/{name}",
        "definition": {
            "type": INTERACTION_TYPE,
            "name": {"en-US": name.split("-", 1)[1].replace("-", " ")},
            "interactionType": "choice",
            "correctResponsesPattern": [CHOICES[number % len(CHOICES)]],
            "choices": [
                {"id": choice, "description": {"en-US": f"option {choice}"}} for choice in CHOICES
            ],
        },
    }


_CHECKPOINT_ITEMS = [
    (_choice_item(number, name), model) for number, (name, model) in enumerate(ITEM_MODEL.items())
]
_VERB = {
    name: {"id": f"{ADL_VERBS}/{name}", "display": {"en-US": name}}
    for name in ("launched", "experienced", "answered", "passed", "failed", "completed")
}
_TUTOR_VERB = {
    verb: {"id": verb, "display": {"en-US": text}} for verb, text in VERB_DISPLAY.items()
}


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


class _LearnerStream:
    """The statements of one learner, collected with their times, then put in time order."""

    def __init__(
        self, learner: Learner, rng: random.Random, end: datetime, reports_durations: bool = True
    ) -> None:
        self.rng = rng
        self.end = end
        self.reports_durations = reports_durations
        self.actor = {
            "objectType": "Agent",
            "name": learner.name,
            "mbox": f"mailto:{learner.email}",
        }
        self.lms_extensions: dict[str, Any] = {
            EXT_COHORT: learner.cohort,
            EXT_ORG: learner.org,
            EXT_TEAM: learner.team,
            EXT_ROLE: learner.role,
        }
        self.items: list[tuple[datetime, int, dict[str, Any]]] = []
        self._registrations: dict[str, str] = {}

    def _id(self) -> str:
        """A random version-4 UUID (as uuid.UUID(int=..., version=4) makes it, faster)."""
        n = (self.rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def add(self, at: datetime, statement: dict[str, Any]) -> bool:
        """Keep the statement when it happens before the end of the simulated window."""
        if at >= self.end:
            return False
        statement["id"] = self._id()
        statement["actor"] = self.actor
        statement["timestamp"] = _timestamp(at)
        if not self.reports_durations and "result" in statement:
            statement["result"].pop("duration", None)
            if not statement["result"]:
                del statement["result"]
        self.items.append((at, len(self.items), statement))
        return True

    def lms(
        self,
        at: datetime,
        verb: str,
        activity: dict[str, Any],
        result: dict[str, Any] | None = None,
        skill: str | tuple[str, ...] | None = None,
    ) -> bool:
        extensions = self.lms_extensions
        if skill is not None:
            extensions = {
                **extensions,
                EXT_SKILL: list(skill) if isinstance(skill, tuple) else skill,
            }
        context: dict[str, Any] = {"platform": "acme-lms", "extensions": extensions}
        if activity is not _COURSE:
            context["contextActivities"] = {"parent": _COURSE_REF}
        statement: dict[str, Any] = {"verb": _VERB[verb], "object": activity, "context": context}
        if result is not None:
            statement["result"] = result
        return self.add(at, statement)

    def tutor(
        self,
        at: datetime,
        session: str,
        verb: str,
        event_type: str,
        activity: dict[str, Any],
        result: dict[str, Any] | None = None,
        skill: str | None = None,
    ) -> bool:
        """A statement as the `tutor` source (ingestion/sources/tutor.py) maps the event."""
        extensions: dict[str, Any] = {
            EXT_TUTOR_SESSION: session,
            EXT_SOURCE_EVENT: {"type": event_type},
        }
        if skill:
            extensions[EXT_SKILL] = skill
        statement: dict[str, Any] = {
            "verb": _TUTOR_VERB[verb],
            "object": activity,
            "context": {
                "registration": self._registration(session),
                "platform": "AI tutor",
                "contextActivities": {"grouping": _TUTOR_GROUPING, "parent": _COURSE_REF},
                "extensions": extensions,
            },
        }
        if result is not None:
            statement["result"] = result
        return self.add(at, statement)

    def _registration(self, session: str) -> str:
        registration = self._registrations.get(session)
        if registration is None:
            registration = str(uuid.uuid5(TUTOR_NAMESPACE, f"{TUTOR}|{session}"))
            self._registrations = {session: registration}
        return registration

    def sorted(self) -> list[dict[str, Any]]:
        self.items.sort(key=lambda item: (item[0], item[1]))
        return [statement for _, _, statement in self.items]


def _tutor_item(item_id: str, skill: str, difficulty: float) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": f"{TUTOR}/items/{item_id}",
        "definition": {
            "type": INTERACTION_TYPE,
            "interactionType": "other",
            "extensions": {EXT_SKILL: skill, EXT_DIFFICULTY: difficulty},
        },
    }


def _tutor_session_activity(session: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": f"{TUTOR}/sessions/{session}",
        "definition": {"type": SESSION_TYPE},
    }


def _working_hours(day: datetime, rng: random.Random) -> datetime:
    return day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
        hours=8 + rng.random() * 9, seconds=rng.random() * 60
    )


@dataclass
class SkillOutcome:
    """What was planted for one learner and skill (for KPIs and the known-answer test)."""

    first_seen_at: datetime
    mastered_at: datetime | None
    retained: bool | None


class _Plan:
    """One learner's journey; the statements are emitted in `stream`."""

    def __init__(
        self,
        learner: Learner,
        effects: Effects,
        start: datetime,
        days: int,
        rng: random.Random,
        reports_durations: bool = True,
    ):
        self.learner = learner
        self.rng = rng
        self.effects = effects
        self.stream = _LearnerStream(learner, rng, start + timedelta(days=days), reports_durations)
        self.enrolled_at = _working_hours(start + timedelta(days=rng.random() * days * 0.3), rng)
        self.outcomes: dict[str, SkillOutcome] = {}
        self.sessions = 0

    def run(self) -> list[dict[str, Any]]:
        rng, cohort = self.rng, self.learner.cohort
        s = self.stream
        at = self.enrolled_at
        s.lms(at, "launched", _COURSE)
        completes = rng.random() < self.effects.completion(cohort)
        lessons = len(LESSONS) if completes else _stop(rng)
        first_lesson = at + timedelta(minutes=5 + rng.random() * 20)
        at = first_lesson
        for number, lesson in enumerate(_LESSONS[:lessons], 1):
            minutes = 15 + rng.random() * 45
            s.lms(at, "experienced", lesson, {"duration": _duration(minutes * 60)}, SKILLS)
            if number == 1:
                self._checkpoint(at + timedelta(minutes=minutes + 5))
            at = _working_hours(at + timedelta(days=1 + rng.random() * 2), rng)
        if completes:
            s.lms(
                at,
                "completed",
                _COURSE,
                {"completion": True, "duration": _duration(60 + rng.random() * 600)},
            )
        for skill in SKILLS:
            self._skill(skill, first_lesson)
        return s.sorted()

    def _skill(self, skill: str, first_seen_at: datetime) -> None:
        rng, cohort, effects = self.rng, self.learner.cohort, self.effects
        masters = rng.random() < effects.mastery(cohort)
        median = effects.median_days_to_competency(cohort)
        days = median * math.exp(0.5 * rng.gauss(0, 1)) if masters else median * (1 + rng.random())
        mastered_at = first_seen_at + timedelta(days=max(days, 0.5))
        # practice until mastery (or until giving up), every score below θ
        practice_days = (mastered_at - first_seen_at).total_seconds() / 86400
        sessions = max(1, round(practice_days / 3))
        for k in range(sessions):
            at = first_seen_at + timedelta(
                days=practice_days * (k + 0.5) / (sessions + 0.5), minutes=30
            )
            progress = (k + 1) / (sessions + 1)
            if cohort == "pilot":
                self._tutor_session(at, skill, progress)
            else:
                self._quiz(at, skill, progress)
        retained: bool | None = None
        if masters:
            scaled = round(MASTERY_THRESHOLD + rng.random() * (1 - MASTERY_THRESHOLD), 2)
            s = self.stream
            if not s.lms(
                mastered_at, "passed", _ASSESSMENTS[skill], _scored(scaled, True, rng), skill
            ):
                mastered_at_kept = None
            else:
                mastered_at_kept = mastered_at
                check_at = mastered_at + timedelta(days=30 + rng.random() * 14)
                retained = rng.random() < effects.retention(cohort)
                score = (
                    round(MASTERY_THRESHOLD + rng.random() * (1 - MASTERY_THRESHOLD), 2)
                    if retained
                    else round(0.3 + rng.random() * (MASTERY_THRESHOLD - 0.31), 2)
                )
                verb = "passed" if retained else "failed"
                if not s.lms(
                    check_at, verb, _RETENTION[skill], _scored(score, retained, rng), skill
                ):
                    retained = None
            self.outcomes[skill] = SkillOutcome(first_seen_at, mastered_at_kept, retained)
        else:
            self.outcomes[skill] = SkillOutcome(first_seen_at, None, None)

    def _checkpoint(self, at: datetime) -> None:
        """The checkpoint quiz: each item answered once, a wrong answer sometimes retried."""
        rng = self.rng
        ability = rng.gauss(0, 1)
        for item, (discrimination, difficulty) in _CHECKPOINT_ITEMS:
            chance = 1 / (1 + math.exp(-discrimination * (ability - difficulty)))
            correct = item["definition"]["correctResponsesPattern"][0]
            for _ in range(2):
                at += timedelta(seconds=20 + rng.random() * 70)
                success = rng.random() < chance
                wrong = [c for c in CHOICES if c != correct]
                response = correct if success else wrong[rng.randrange(len(wrong))]
                self._answer(at, item, response, success)
                if success or rng.random() >= RETRY_SHARE:
                    break

    def _answer(self, at: datetime, item: dict[str, Any], response: str, success: bool) -> None:
        context = {
            "platform": "acme-lms",
            "contextActivities": {"parent": [_CHECKPOINT_REF], "grouping": _COURSE_REF},
            "extensions": self.stream.lms_extensions,
        }
        result = {"response": response, "success": success, "duration": "PT40S"}
        statement = {"verb": _VERB["answered"], "object": item, "context": context}
        self.stream.add(at, {**statement, "result": result})

    def _quiz(self, at: datetime, skill: str, progress: float) -> None:
        rng = self.rng
        for question in range(3):
            scaled = round(
                min(MASTERY_THRESHOLD - 0.01, 0.2 + 0.5 * progress + rng.random() * 0.09), 2
            )
            self.stream.lms(
                at + timedelta(minutes=3 * question),
                "answered",
                _QUIZZES[skill],
                _scored(scaled, scaled >= 0.5, rng),
                skill,
            )

    def _tutor_session(self, at: datetime, skill: str, progress: float) -> None:
        rng, s = self.rng, self.stream
        self.sessions += 1
        session = f"s{self.learner.index:05d}-{self.sessions:03d}"
        session_activity = _tutor_session_activity(session)
        s.tutor(at, session, f"{ADL_VERBS}/initialized", "session_started", session_activity)
        t = at
        for n in range(2 + rng.randrange(4)):
            item_id = f"{skill.rsplit('/', 1)[1]}-{rng.randrange(200):03d}"
            difficulty = round(0.2 + 0.6 * progress, 2)
            item = _tutor_item(item_id, skill, difficulty)
            t += timedelta(seconds=20 + rng.random() * 60)
            s.tutor(t, session, ITEM_SERVED_VERB, "item_served", item, skill=skill)
            if rng.random() < 0.35:
                t += timedelta(seconds=30 + rng.random() * 90)
                hint = {"extensions": {EXT_HINT_LEVEL: 1 + rng.randrange(3)}}
                s.tutor(t, session, HINT_REQUESTED_VERB, "hint_requested", item, hint, skill)
            t += timedelta(seconds=60 + rng.random() * 180)
            scaled = round(
                min(MASTERY_THRESHOLD - 0.01, 0.25 + 0.5 * progress + rng.random() * 0.1), 2
            )
            correct = scaled >= 0.5
            answer = {"success": correct, "completion": True, "score": {"scaled": scaled}}
            s.tutor(t, session, f"{ADL_VERBS}/answered", "answer_submitted", item, answer, skill)
            if rng.random() < 0.6:
                t += timedelta(seconds=5 + rng.random() * 20)
                kind = "encouraging" if correct else "corrective"
                feedback = {
                    "response": f"{kind} feedback on item {n + 1}",
                    "extensions": {EXT_FEEDBACK_KIND: kind},
                }
                s.tutor(t, session, FEEDBACK_RECEIVED_VERB, "feedback_given", item, feedback, skill)
        t += timedelta(seconds=30 + rng.random() * 120)
        ended = {"duration": f"PT{round((t - at).total_seconds(), 3):g}S"}
        s.tutor(t, session, f"{ADL_VERBS}/terminated", "session_ended", session_activity, ended)


def _stop(rng: random.Random) -> int:
    """How many lessons a learner who will not complete the course takes."""
    draw = rng.random()
    for lessons, weight in STOPS_AFTER_LESSON.items():
        draw -= weight
        if draw < 0:
            return lessons
    return max(STOPS_AFTER_LESSON)


def _scored(scaled: float, success: bool, rng: random.Random) -> dict[str, Any]:
    return {
        "score": {"scaled": scaled, "raw": round(scaled * 20, 1), "min": 0, "max": 20},
        "success": success,
        "duration": _duration(300 + rng.random() * 900),
    }


@dataclass
class Simulation:
    """The organisation and, once its statements have been iterated, what was planted."""

    people: list[Learner]
    effects: Effects
    start: datetime
    days: int
    outcomes: dict[tuple[int, str], SkillOutcome]
    # learners (by index) whose statements carry no result.duration: unknown seat time
    unreported_durations: set[int] = field(default_factory=set)
    # each learner's first statement (`launched` on the course): their program start
    program_starts: dict[int, datetime] = field(default_factory=dict)

    def kpi_rows(self, rng_seed: int) -> list[tuple[str, str, str, float]]:
        """(learner email, kpi, observed_on, value): one observation a week per learner from
        four weeks before the window to its end. After the day of the learner's program start
        the value is `kpi_gain` higher, plus `pilot_kpi_effect` in the pilot; the start day
        itself is in neither of marts.kpi_effects' windows."""
        rng = random.Random(rng_seed ^ 0x5EED)
        effects = self.effects
        end = self.start + timedelta(days=self.days)
        rows = []
        for person in self.people:
            baseline = effects.kpi_baseline * (0.8 + 0.4 * rng.random())
            started = self.program_starts.get(person.index)
            extra = effects.pilot_kpi_effect if person.cohort == "pilot" else 0.0
            day = self.start - timedelta(days=28 - rng.randrange(7))
            while day < end:
                level = baseline
                if started is not None and day.date() > started.date():
                    level = baseline * (1 + effects.kpi_gain) + extra
                value = round(level * (0.97 + 0.06 * rng.random()), 2)
                rows.append((person.email, KPI_NAME, day.date().isoformat(), value))
                day += timedelta(days=7)
        return rows


def simulate(
    learners: int,
    days: int,
    seed: int,
    start: datetime | date | None = None,
    effects: Effects = DEFAULT_EFFECTS,
) -> tuple[list[Learner], Iterator[dict[str, Any]]]:
    """The organisation, and its statements (each learner's in time order)."""
    simulation, statements = run(learners, days, seed, start, effects)
    return simulation.people, statements


def run(
    learners: int,
    days: int,
    seed: int,
    start: datetime | date | None = None,
    effects: Effects = DEFAULT_EFFECTS,
) -> tuple[Simulation, Iterator[dict[str, Any]]]:
    """The simulation and its statements; `simulation.outcomes` fills as they are iterated."""
    effects.check()
    rng = random.Random(seed)
    begin = _start(start)
    people = organisation(learners, rng, effects)
    simulation = Simulation(people, effects, begin, days, {})
    # drawn apart from `rng`, so the share leaves every other planted draw as it is
    durations_rng = random.Random(seed ^ 0xD0)
    simulation.unreported_durations = {
        p.index for p in people if durations_rng.random() < effects.unreported_duration_share
    }

    def statements() -> Iterator[dict[str, Any]]:
        for learner in people:
            reports = learner.index not in simulation.unreported_durations
            plan = _Plan(learner, effects, begin, days, rng, reports)
            yield from plan.run()
            simulation.program_starts[learner.index] = plan.enrolled_at
            for skill, outcome in plan.outcomes.items():
                simulation.outcomes[(learner.index, skill)] = outcome

    return simulation, statements()


def _start(start: datetime | date | None) -> datetime:
    """The first day, as a naive UTC datetime at midnight."""
    if start is None:
        start = DEFAULT_START
    if isinstance(start, datetime):
        if start.tzinfo is not None:
            start = start.astimezone(UTC).replace(tzinfo=None)
        return start
    return datetime(start.year, start.month, start.day)


def write_roster(people: list[Learner], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "cohort", "org", "team", "role", "is_pilot", "hourly_cost"])
        for p in people:
            writer.writerow(
                [
                    p.email,
                    p.cohort,
                    p.org,
                    p.team,
                    p.role,
                    str(p.cohort == "pilot").lower(),
                    p.hourly_cost,
                ]
            )


def write_kpis(simulation: Simulation, seed: int, path: Path) -> int:
    """kpis.csv (the `kpis import` format); call after the statements were iterated."""
    rows = simulation.kpi_rows(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "team", "kpi", "observed_on", "value"])
        for email, kpi, day, value in rows:
            writer.writerow([email, "", kpi, day, value])
    return len(rows)


# A day sooner at competency is worth this share of a loaded working day (8 hours).
COMPETENT_DAY_SHARE = 0.1


def roi_assumptions(simulation: Simulation) -> dict[str, Any]:
    """The ROI settings (the `[roi]` section) the simulated organisation implies."""
    people = simulation.people
    effects = simulation.effects
    mean_cost = sum(p.hourly_cost for p in people) / len(people) if people else 0.0
    return {
        "programme_cost_per_learner": effects.spend_per_employee_year,
        "loaded_hourly_cost": round(mean_cost, 2),
        "value_of_competent_day": round(mean_cost * 8 * COMPETENT_DAY_SHARE, 2),
        "kpi_values": {KPI_NAME: effects.value_per_kpi_unit},
        "currency": "USD",
    }


PILOT_NAME = "AI tutor pilot"
PILOT_LIFT = 0.20  # the lift the pilot is planned to show: +20 points of course completion
PILOT_WINDOW_DAYS = 30


def pilot_entry(simulation: Simulation) -> dict[str, Any]:
    """The `[[pilots]]` entry of the simulated pilot (docs/pilot.md): the pilot cohort against
    control on the course's completion, from the first day over 30 days (or the whole span
    when it is shorter), planned to show PILOT_LIFT."""
    return {
        "name": PILOT_NAME,
        "cohort": "pilot",
        "baseline_cohort": "control",
        "metric": "completion",
        "program": COURSE_ID,
        "start": simulation.start.date(),
        "window_days": min(PILOT_WINDOW_DAYS, simulation.days),
        "lift": PILOT_LIFT,
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(value, date):
        return value.isoformat()  # a TOML local date
    return str(value)


def write_settings(simulation: Simulation, path: Path) -> None:
    """settings.toml: the simulated organisation's `baseline_cohort`, `[roi]` section and
    `[[pilots]]` entry, a complete skillstream.toml (`SKILLSTREAM_CONFIG` names it; `demo`
    runs with it)."""
    lines = [
        "# The settings of the simulated organisation (skillstream simulate)",
        'baseline_cohort = "control"',
        "",
        "[roi]",
        *(f"{name} = {_toml_value(v)}" for name, v in roi_assumptions(simulation).items()),
        "",
        "[[pilots]]",
        *(f"{name} = {_toml_value(v)}" for name, v in pilot_entry(simulation).items()),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


class PostError(RuntimeError):
    """The xAPI endpoint refused or could not be reached; the message says which."""


def post_statements(url: str, statements: Iterator[dict[str, Any]], batch: int = 500) -> int:
    """POST the statements in batches to an xAPI Statements resource; the number sent.

    Credentials, when the endpoint needs them, go in the URL: http://key:secret@host/xapi/statements.
    """
    import base64
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit, urlunsplit

    import orjson

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PostError(f"--to-http {url!r}: expected an http(s) URL of the Statements resource")
    headers = {"Content-Type": "application/json", "X-Experience-API-Version": "2.0.0"}
    if parts.username is not None:
        token = f"{parts.username}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    target = urlunsplit(parts)
    sent = 0
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal sent
        request = urllib.request.Request(
            target, data=orjson.dumps(pending), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:300]
            raise PostError(
                f"{target} answered {error.code} after {sent} statements: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            raise PostError(
                f"{target} cannot be reached after {sent} statements: {error}"
            ) from None
        sent += len(pending)
        pending.clear()

    for statement in statements:
        pending.append(statement)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return sent
