"""The `tutor` source: AI-tutor events -> xAPI statements with the project's profile.

An AI tutor writes one JSON event per line (or an array); docs/sources.md documents the
format and the mapping. Every event carries `type`, `learner` (an email, or
`homePage|name` as in the roster), `time` (RFC 3339), `session_id` and `tutor` (the
tutor's IRI); each type adds its own fields:

    session_started      course? (IRI of the program the session belongs to)
    session_ended        duration_seconds?
    item_served          item_id, skill, difficulty (0..1)
    answer_submitted     item_id, skill, correct (bool), response?, score? (0..1)
    hint_requested       item_id, skill?, hint_level?
    feedback_given       item_id?, skill?, feedback (text), kind?
    difficulty_adjusted  skill, from, to (0..1), reason?

`event_id` (optional) makes the statement id stable; without it the id is derived from the
event's content, so reading the same log again lands nothing twice.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from skillstream.ingestion.sources import Checkpoint, RawEvent, SourceContext, StatementSource
from skillstream.ingestion.sources.file import paths_argument, read_files
from skillstream.xapi import formats
from skillstream.xapi.identity import IdentityError, roster_ifi
from skillstream.xapi.profile import (
    ADL_ACTIVITIES,
    ADL_VERBS,
    COURSE_TYPE,
    DIFFICULTY_ADJUSTED_VERB,
    EXT_ADJUSTMENT_REASON,
    EXT_DIFFICULTY,
    EXT_DIFFICULTY_FROM,
    EXT_DIFFICULTY_TO,
    EXT_FEEDBACK_KIND,
    EXT_HINT_LEVEL,
    EXT_SKILL,
    EXT_SOURCE_EVENT,
    EXT_TUTOR_SESSION,
    FEEDBACK_RECEIVED_VERB,
    HINT_REQUESTED_VERB,
    ITEM_SERVED_VERB,
)
from skillstream.xapi.statements import derived_statement_id

_NAMESPACE = uuid.UUID("6c1f3d2a-8b4e-4f0a-9d7c-2e5b1a9c8f30")
INTERACTION_TYPE = f"{ADL_ACTIVITIES}/cmi.interaction"
TUTOR_TYPE = "https://w3id.org/skillstream/activity-types/ai-tutor"
SESSION_TYPE = "https://w3id.org/skillstream/activity-types/tutoring-session"


class TutorEventError(ValueError):
    """An event that does not follow the tutor format; the message names the field."""


def _text(event: dict[str, Any], field: str, required: bool = True) -> str | None:
    value = event.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise TutorEventError(f"{field}: must be a non-empty string")
    return value


def _unit_interval(event: dict[str, Any], field: str, required: bool = True) -> float | None:
    value = event.get(field)
    if value is None and not required:
        return None
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise TutorEventError(f"{field}: must be a number from 0 to 1")
    return float(value)


def agent_of(learner: Any) -> dict[str, Any]:
    """The xAPI Agent of a learner named as in the roster: an email or homePage|name."""
    if not isinstance(learner, str):
        raise TutorEventError("learner: must be an email or homePage|name")
    try:
        ifi = roster_ifi(learner)
    except IdentityError as error:
        raise TutorEventError(str(error)) from None
    if "|" in ifi:
        home_page, _, name = ifi.partition("|")
        return {"objectType": "Agent", "account": {"homePage": home_page, "name": name}}
    return {"objectType": "Agent", "mbox": ifi}


def _item(tutor: str, event: dict[str, Any], skill: str | None) -> dict[str, Any]:
    item_id = _text(event, "item_id")
    extensions: dict[str, Any] = {}
    if skill:
        extensions[EXT_SKILL] = skill
    return {
        "objectType": "Activity",
        "id": f"{tutor.rstrip('/')}/items/{item_id}",
        "definition": {
            "type": INTERACTION_TYPE,
            "interactionType": "other",
            **({"extensions": extensions} if extensions else {}),
        },
    }


def _session(tutor: str, session_id: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": f"{tutor.rstrip('/')}/sessions/{session_id}",
        "definition": {"type": SESSION_TYPE},
    }


def _session_started(event: dict[str, Any], tutor: str, session: str) -> dict[str, Any]:
    return {"verb": f"{ADL_VERBS}/initialized", "object": _session(tutor, session)}


def _session_ended(event: dict[str, Any], tutor: str, session: str) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "verb": f"{ADL_VERBS}/terminated",
        "object": _session(tutor, session),
    }
    seconds = event.get("duration_seconds")
    if seconds is not None:
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise TutorEventError("duration_seconds: must be a non-negative number")
        statement["result"] = {"duration": f"PT{round(float(seconds), 3):g}S"}
    return statement


def _item_served(event: dict[str, Any], tutor: str, session: str) -> dict[str, Any]:
    skill = _text(event, "skill")
    item = _item(tutor, event, skill)
    item["definition"].setdefault("extensions", {})[EXT_DIFFICULTY] = _unit_interval(
        event, "difficulty"
    )
    return {"verb": ITEM_SERVED_VERB, "object": item}


def _answer_submitted(event: dict[str, Any], tutor: str, session: str) -> dict[str, Any]:
    skill = _text(event, "skill")
    correct = event.get("correct")
    if not isinstance(correct, bool):
        raise TutorEventError("correct: must be true or false")
    score = _unit_interval(event, "score", required=False)
    # No score is made up from `correct`: one right answer is not mastery (docs/design.md §4).
    result: dict[str, Any] = {"success": correct, "completion": True}
    if score is not None:
        result["score"] = {"scaled": score}
    response = event.get("response")
    if response is not None:
        result["response"] = (
            response if isinstance(response, str) else orjson.dumps(response).decode()
        )
    return {"verb": f"{ADL_VERBS}/answered", "object": _item(tutor, event, skill), "result": result}


def _hint_requested(event: dict[str, Any], tutor: str, session: str) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "verb": HINT_REQUESTED_VERB,
        "object": _item(tutor, event, _text(event, "skill", required=False)),
    }
    level = event.get("hint_level")
    if level is not None:
        if not isinstance(level, int) or isinstance(level, bool) or level < 1:
            raise TutorEventError("hint_level: must be a whole number from 1")
        statement["result"] = {"extensions": {EXT_HINT_LEVEL: level}}
    return statement


def _feedback_given(event: dict[str, Any], tutor: str, session: str) -> dict[str, Any]:
    feedback = _text(event, "feedback")
    target = (
        _item(tutor, event, _text(event, "skill", required=False))
        if event.get("item_id") is not None
        else _session(tutor, session)
    )
    extensions: dict[str, Any] = {}
    kind = _text(event, "kind", required=False)
    if kind:
        extensions[EXT_FEEDBACK_KIND] = kind
    result: dict[str, Any] = {"response": feedback}
    if extensions:
        result["extensions"] = extensions
    return {"verb": FEEDBACK_RECEIVED_VERB, "object": target, "result": result}


def _difficulty_adjusted(event: dict[str, Any], tutor: str, session: str) -> dict[str, Any]:
    skill = _text(event, "skill")
    extensions: dict[str, Any] = {
        EXT_DIFFICULTY_FROM: _unit_interval(event, "from"),
        EXT_DIFFICULTY_TO: _unit_interval(event, "to"),
    }
    reason = _text(event, "reason", required=False)
    if reason:
        extensions[EXT_ADJUSTMENT_REASON] = reason
    return {
        "verb": DIFFICULTY_ADJUSTED_VERB,
        "object": _session(tutor, session),
        "result": {"extensions": extensions},
        "skill": skill,
    }


MAPPINGS: dict[str, Callable[[dict[str, Any], str, str], dict[str, Any]]] = {
    "session_started": _session_started,
    "session_ended": _session_ended,
    "item_served": _item_served,
    "answer_submitted": _answer_submitted,
    "hint_requested": _hint_requested,
    "feedback_given": _feedback_given,
    "difficulty_adjusted": _difficulty_adjusted,
}
VERB_DISPLAY = {
    f"{ADL_VERBS}/initialized": "initialized",
    f"{ADL_VERBS}/terminated": "terminated",
    f"{ADL_VERBS}/answered": "answered",
    ITEM_SERVED_VERB: "received item",
    HINT_REQUESTED_VERB: "requested hint",
    FEEDBACK_RECEIVED_VERB: "received feedback",
    DIFFICULTY_ADJUSTED_VERB: "had difficulty adjusted",
}


def to_statement(event: Any) -> dict[str, Any]:
    """One tutor event as an xAPI statement; TutorEventError names what is wrong."""
    if not isinstance(event, dict):
        raise TutorEventError("an event must be a JSON object")
    kind = event.get("type")
    mapping = MAPPINGS.get(kind) if isinstance(kind, str) else None
    if mapping is None:
        raise TutorEventError(f"type: must be one of {', '.join(MAPPINGS)}")
    time = _text(event, "time")
    assert time is not None
    problem = formats.timestamp_problem(time)
    if problem:
        raise TutorEventError(f"time: {problem}")
    tutor = _text(event, "tutor")
    assert tutor is not None
    if not formats.is_iri(tutor):
        raise TutorEventError("tutor: must be the tutor's IRI")
    session = _text(event, "session_id")
    assert session is not None
    mapped = mapping(event, tutor, session)
    skill = mapped.pop("skill", None) or event.get("skill")
    extensions: dict[str, Any] = {
        EXT_TUTOR_SESSION: session,
        EXT_SOURCE_EVENT: {
            "type": kind,
            **({"id": event["event_id"]} if "event_id" in event else {}),
        },
    }
    if isinstance(skill, str) and skill:
        extensions[EXT_SKILL] = skill
    context_activities: dict[str, Any] = {
        "grouping": [{"objectType": "Activity", "id": tutor, "definition": {"type": TUTOR_TYPE}}]
    }
    course = _text(event, "course", required=False)
    if course:
        context_activities["parent"] = [
            {"objectType": "Activity", "id": course, "definition": {"type": COURSE_TYPE}}
        ]
    statement: dict[str, Any] = {
        "actor": agent_of(event.get("learner")),
        "verb": {"id": mapped["verb"], "display": {"en-US": VERB_DISPLAY[mapped["verb"]]}},
        "object": mapped["object"],
        "context": {
            "registration": str(uuid.uuid5(_NAMESPACE, f"{tutor}|{session}")),
            "platform": "AI tutor",
            "contextActivities": context_activities,
            "extensions": extensions,
        },
        "timestamp": time,
    }
    if "result" in mapped:
        statement["result"] = mapped["result"]
    event_id = event.get("event_id")
    statement["id"] = (
        str(uuid.uuid5(_NAMESPACE, f"{tutor}|{event_id}"))
        if isinstance(event_id, str) and event_id
        else derived_statement_id(statement)
    )
    return statement


def convert(record: RawEvent) -> Iterator[RawEvent]:
    try:
        statement = to_statement(record.statement)
    except TutorEventError as error:
        yield RawEvent(record.payload, record.origin, f"tutor event: {error}", index=record.index)
        return
    yield RawEvent(orjson.dumps(statement), record.origin, statement=statement, index=record.index)


def read(context: SourceContext, paths: tuple[Path, ...]) -> Iterator[RawEvent | Checkpoint]:
    return read_files(context, paths, convert)


source = StatementSource(
    name="tutor",
    help="AI-tutor event logs (.json/.ndjson, .gz) mapped to xAPI (docs/sources.md).",
    read=read,
    parameters=(paths_argument(),),
    cursor_key=lambda **options: "files",
    mapping=to_statement,
)
