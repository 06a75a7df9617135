"""A simulated organisation: a roster and the xAPI statements its learners produce.

Deterministic by seed. Teams are split between a `pilot` cohort (an AI tutor alongside the
course) and a `control` cohort (the course alone), with planted effects on completion and
mastery, so the marts have a known answer to recover.
"""

from __future__ import annotations

import csv
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from skillstream.xapi.profile import (
    ADL_VERBS,
    ASSESSMENT_TYPE,
    COURSE_TYPE,
    EXT_COHORT,
    EXT_ORG,
    EXT_ROLE,
    EXT_SKILL,
    EXT_TEAM,
    MODULE_TYPE,
)

VERBS = {
    name: f"{ADL_VERBS}/{name}"
    for name in ("launched", "experienced", "answered", "passed", "failed", "completed", "mastered")
}
HOME_PAGE = "https://lms.acme.example"
ORG = "acme"
ROLES = ("analyst", "engineer", "manager", "specialist")


@dataclass(frozen=True)
class Effects:
    """Planted outcome rates per cohort."""

    completion: float
    mastery: float


DEFAULT_EFFECTS = {
    "pilot": Effects(completion=0.75, mastery=0.7),
    "control": Effects(completion=0.25, mastery=0.35),
}


@dataclass(frozen=True)
class Learner:
    index: int
    email: str
    name: str
    team: str
    role: str
    cohort: str


@dataclass(frozen=True)
class Program:
    id: str
    name: str
    modules: tuple[str, ...]
    skills: tuple[str, ...]


PROGRAMS = (
    Program(
        id="https://lms.acme.example/courses/data-literacy",
        name="Data literacy",
        modules=("reading-charts", "statistics-basics", "data-storytelling"),
        skills=(
            "https://skills.acme.example/data-analysis",
            "https://skills.acme.example/communication",
        ),
    ),
    Program(
        id="https://lms.acme.example/courses/ai-assisted-work",
        name="AI-assisted work",
        modules=("prompting", "verification", "automation"),
        skills=(
            "https://skills.acme.example/prompting",
            "https://skills.acme.example/data-analysis",
        ),
    ),
)


def organisation(learners: int, rng: random.Random) -> list[Learner]:
    team_count = max(2, 2 * round(learners / 24))  # even, so half the teams pilot
    teams = [f"team-{i + 1:02d}" for i in range(team_count)]
    pilot_teams = set(teams[: team_count // 2])
    people = []
    for i in range(learners):
        team = teams[i % team_count]
        people.append(
            Learner(
                index=i,
                email=f"learner{i:05d}@acme.example",
                name=f"Learner {i:05d}",
                team=team,
                role=rng.choice(ROLES),
                cohort="pilot" if team in pilot_teams else "control",
            )
        )
    return people


class _Writer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def statement(
        self,
        learner: Learner,
        verb: str,
        activity: dict[str, Any],
        at: datetime,
        program: Program,
        result: dict[str, Any] | None = None,
        skills: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        extensions: dict[str, Any] = {
            EXT_COHORT: learner.cohort,
            EXT_ORG: ORG,
            EXT_TEAM: learner.team,
            EXT_ROLE: learner.role,
        }
        if skills:
            extensions[EXT_SKILL] = list(skills) if len(skills) > 1 else skills[0]
        context: dict[str, Any] = {"platform": "acme-lms", "extensions": extensions}
        if activity["id"] != program.id:
            context["contextActivities"] = {
                "parent": [
                    {
                        "id": program.id,
                        "objectType": "Activity",
                        "definition": {"type": COURSE_TYPE},
                    }
                ]
            }
        statement: dict[str, Any] = {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "actor": {
                "objectType": "Agent",
                "name": learner.name,
                "mbox": f"mailto:{learner.email}",
            },
            "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
            "object": activity,
            "context": context,
            "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        }
        if result is not None:
            statement["result"] = result
        return statement


def _course(program: Program) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": program.id,
        "definition": {"type": COURSE_TYPE, "name": {"en-US": program.name}},
    }


def _activity(program: Program, kind: str, name: str, activity_type: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": f"{program.id}/{kind}/{name}",
        "definition": {"type": activity_type, "name": {"en-US": name.replace("-", " ")}},
    }


def _duration(minutes: float) -> str:
    return f"PT{int(minutes)}M{int((minutes % 1) * 60)}S"


def learner_statements(
    learner: Learner, program: Program, start: datetime, days: int, rng: random.Random
) -> Iterator[dict[str, Any]]:
    effects = DEFAULT_EFFECTS[learner.cohort]
    writer = _Writer(rng)
    at = start + timedelta(days=rng.uniform(0, days * 0.4), hours=rng.uniform(8, 17))
    end = start + timedelta(days=days)
    yield writer.statement(learner, "launched", _course(program), at, program)
    completes = rng.random() < effects.completion
    masters = rng.random() < effects.mastery
    modules_done = len(program.modules) if completes else rng.randint(0, len(program.modules) - 1)
    for module in program.modules[:modules_done]:
        at += timedelta(days=rng.uniform(1, 6), minutes=rng.uniform(5, 90))
        if at >= end:
            return
        minutes = rng.uniform(15, 60)
        yield writer.statement(
            learner,
            "experienced",
            _activity(program, "modules", module, MODULE_TYPE),
            at,
            program,
            result={"duration": _duration(minutes)},
            skills=program.skills,
        )
    attempts = 3 if masters else rng.randint(1, 3)
    for attempt in range(attempts):
        at += timedelta(days=rng.uniform(1, 7))
        if at >= end:
            return
        if masters and attempt == attempts - 1:
            scaled = round(rng.uniform(0.8, 1.0), 2)
        else:
            scaled = round(rng.uniform(0.3, 0.79), 2)
        yield writer.statement(
            learner,
            "passed" if scaled >= 0.8 else "failed",
            _activity(program, "assessments", "final-check", ASSESSMENT_TYPE),
            at,
            program,
            result={
                "score": {"scaled": scaled},
                "success": scaled >= 0.8,
                "duration": _duration(rng.uniform(10, 30)),
            },
            skills=program.skills,
        )
    if completes:
        at += timedelta(hours=rng.uniform(1, 48))
        if at < end:
            yield writer.statement(
                learner, "completed", _course(program), at, program, result={"completion": True}
            )


def simulate(
    learners: int, days: int, seed: int, start: datetime | None = None
) -> tuple[list[Learner], Iterator[dict[str, Any]]]:
    """The organisation, and its statements (each learner's in time order)."""
    rng = random.Random(seed)
    start = start or datetime(2026, 7, 1, tzinfo=UTC)
    people = organisation(learners, rng)

    def statements() -> Iterator[dict[str, Any]]:
        for learner in people:
            for program in PROGRAMS:
                if learner.index % 3 == 2 and program is PROGRAMS[1]:
                    continue  # not everyone takes the second programme
                yield from learner_statements(learner, program, start, days, rng)

    return people, statements()


def write_roster(people: list[Learner], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "cohort", "org", "team", "role", "is_pilot", "hourly_cost"])
        for p in people:
            writer.writerow(
                [p.email, p.cohort, ORG, p.team, p.role, str(p.cohort == "pilot").lower(), 55]
            )
