"""The `caliper` source: IMS Caliper 1.1 / 1.2 events and envelopes -> xAPI statements.

Reads the same files as the file source (a JSON event or envelope, an array, or NDJSON;
optionally .gz). An envelope (`sensor`, `sendTime`, `dataVersion`, `data`) yields one
statement per event in `data`. The mapping of session, assessment, assessment item,
assignable, media and grading (GradeEvent 1.2 / OutcomeEvent 1.1) events is documented in
docs/sources.md; an event it has no mapping for goes to the dead-letter topic whole, with
the reason, never silently dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from skillstream.ingestion.sources import Checkpoint, RawEvent, SourceContext, StatementSource
from skillstream.ingestion.sources.file import paths_argument, read_files
from skillstream.xapi import formats
from skillstream.xapi.profile import ADL_ACTIVITIES, ADL_VERBS, COURSE_TYPE, EXT_SOURCE_EVENT
from skillstream.xapi.statements import derived_statement_id, duration_seconds

_NAMESPACE = uuid.UUID("2b7e51a3-94c1-4d6f-8a0e-c3f5d1e7b942")
CALIPER = "http://purl.imsglobal.org/caliper"
ADL_XAPI = "https://w3id.org/xapi/adl/verbs"
VIDEO = "https://w3id.org/xapi/video"
ACTIVITY_STREAMS = "http://activitystrea.ms/schema/1.0"
TINCAN = "http://id.tincanapi.com/verb"

# (Caliper event type, action) -> xAPI verb IRI.
VERBS: dict[tuple[str, str], str] = {
    ("SessionEvent", "LoggedIn"): f"{ADL_XAPI}/logged-in",
    ("SessionEvent", "LoggedOut"): f"{ADL_XAPI}/logged-out",
    ("SessionEvent", "TimedOut"): f"{ADL_XAPI}/abandoned",
    ("AssessmentEvent", "Started"): f"{ADL_VERBS}/attempted",
    ("AssessmentEvent", "Restarted"): f"{ADL_VERBS}/attempted",
    ("AssessmentEvent", "Paused"): f"{ADL_VERBS}/suspended",
    ("AssessmentEvent", "Resumed"): f"{ADL_VERBS}/resumed",
    ("AssessmentEvent", "Submitted"): f"{ACTIVITY_STREAMS}/submit",
    ("AssessmentItemEvent", "Started"): f"{ADL_VERBS}/attempted",
    ("AssessmentItemEvent", "Skipped"): f"{TINCAN}/skipped",
    ("AssessmentItemEvent", "Completed"): f"{ADL_VERBS}/answered",
    ("AssignableEvent", "Activated"): f"{ACTIVITY_STREAMS}/enable",
    ("AssignableEvent", "Deactivated"): f"{ACTIVITY_STREAMS}/disable",
    ("AssignableEvent", "Started"): f"{ADL_VERBS}/attempted",
    ("AssignableEvent", "Completed"): f"{ADL_VERBS}/completed",
    ("AssignableEvent", "Submitted"): f"{ACTIVITY_STREAMS}/submit",
    ("AssignableEvent", "Reviewed"): f"{TINCAN}/reviewed",
    ("MediaEvent", "Started"): f"{VIDEO}/verbs/played",
    ("MediaEvent", "Resumed"): f"{VIDEO}/verbs/played",
    ("MediaEvent", "Restarted"): f"{VIDEO}/verbs/played",
    ("MediaEvent", "Paused"): f"{VIDEO}/verbs/paused",
    ("MediaEvent", "Ended"): f"{ADL_VERBS}/completed",
    ("MediaEvent", "JumpedTo"): f"{VIDEO}/verbs/seeked",
    ("MediaEvent", "ForwardedTo"): f"{VIDEO}/verbs/seeked",
    ("GradeEvent", "Graded"): f"{ADL_VERBS}/scored",
    ("OutcomeEvent", "Graded"): f"{ADL_VERBS}/scored",
}
# Every other MediaEvent action (ChangedSpeed, Muted, EnteredFullScreen, ...) is an
# interaction with the media; the action itself is kept in the source-event extension.
MEDIA_INTERACTED = f"{ADL_VERBS}/interacted"

ACTIVITY_TYPES = {
    "Assessment": f"{ADL_ACTIVITIES}/assessment",
    "AssessmentItem": f"{ADL_ACTIVITIES}/cmi.interaction",
    "CourseSection": COURSE_TYPE,
    "CourseOffering": COURSE_TYPE,
    "VideoObject": f"{VIDEO}/activity-type/video",
    "SoftwareApplication": f"{ACTIVITY_STREAMS}/application",
}
VIDEO_TIME = f"{VIDEO}/extensions/time"
RESPONSE_DELIMITER = "[,]"  # xAPI's delimiter between the parts of a response


class CaliperEventError(ValueError):
    """An event this adapter cannot map; the message says which field or mapping."""


def _entity(value: Any, field: str) -> dict[str, Any]:
    """A Caliper entity, given in full or by its IRI."""
    if isinstance(value, str):
        value = {"id": value}
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise CaliperEventError(f"{field}: must be an entity with an id (or an IRI)")
    if not formats.is_iri(value["id"]):
        raise CaliperEventError(f"{field}.id: must be an IRI")
    return value


def agent_of(person: dict[str, Any], field: str) -> dict[str, Any]:
    """A Caliper Person as an xAPI Agent: account{homePage: the id's origin, name: the id}."""
    if person.get("type", "Person") != "Person":
        raise CaliperEventError(f"{field}: must be a Person, not a {person.get('type')}")
    parts = urlsplit(person["id"])
    home_page = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
    agent: dict[str, Any] = {
        "objectType": "Agent",
        "account": {"homePage": home_page, "name": person["id"]},
    }
    if isinstance(person.get("name"), str):
        agent["name"] = person["name"]
    return agent


def activity_of(entity: dict[str, Any]) -> dict[str, Any]:
    kind = entity.get("type")
    definition: dict[str, Any] = {}
    if isinstance(kind, str):
        definition["type"] = ACTIVITY_TYPES.get(kind, f"{CALIPER}/{kind}")
    for field, key in (("name", "name"), ("description", "description")):
        if isinstance(entity.get(field), str) and entity[field]:
            definition[key] = {"und": entity[field]}  # Caliper says nothing of the language
    activity: dict[str, Any] = {"objectType": "Activity", "id": entity["id"]}
    if definition:
        activity["definition"] = definition
    return activity


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _score(generated: dict[str, Any]) -> dict[str, Any]:
    """A 1.2 Score (scoreGiven, maxScore) or 1.1 Result (totalScore/normalScore, ...)."""
    raw = next(
        (
            _number(generated.get(k))
            for k in ("scoreGiven", "totalScore", "resultScore", "normalScore")
            if _number(generated.get(k)) is not None
        ),
        None,
    )
    if raw is None:
        raise CaliperEventError("generated: a grading event must generate a score")
    score: dict[str, Any] = {"raw": raw}
    high = next(
        (
            _number(generated.get(k))
            for k in ("maxScore", "maxResultScore", "maxTotalScore")
            if _number(generated.get(k)) is not None
        ),
        None,
    )
    if high is not None and high > 0:
        score.update(min=0.0, max=high, scaled=max(-1.0, min(1.0, raw / high)))
    return score


def _response(generated: Any) -> str | None:
    if not isinstance(generated, dict):
        return None
    if isinstance(generated.get("value"), str | bool | int | float):
        return (
            str(generated["value"]).lower()
            if isinstance(generated["value"], bool)
            else str(generated["value"])
        )
    values = generated.get("values")
    if isinstance(values, list):
        return RESPONSE_DELIMITER.join(str(v) for v in values)
    return None


def _seconds(value: Any) -> float | None:
    if isinstance(value, str):
        try:
            return duration_seconds(value)
        except ValueError:
            return None
    return None


def to_statement(event: Any) -> dict[str, Any]:
    """One Caliper event as an xAPI statement; CaliperEventError says why not."""
    if not isinstance(event, dict):
        raise CaliperEventError("an event must be a JSON object")
    kind, action = event.get("type"), event.get("action")
    if not isinstance(kind, str) or not isinstance(action, str):
        raise CaliperEventError("type and action: a Caliper event names both")
    verb = VERBS.get((kind, action))
    if verb is None and kind == "MediaEvent":
        verb = MEDIA_INTERACTED
    if verb is None:
        raise CaliperEventError(f"no mapping for {kind} {action} (docs/sources.md lists them)")
    time = event.get("eventTime")
    if not isinstance(time, str) or formats.timestamp_problem(time):
        raise CaliperEventError("eventTime: must be an ISO 8601 date-time")

    target = _entity(event.get("object"), "object")
    generated = event.get("generated") if isinstance(event.get("generated"), dict) else None
    context_activities: dict[str, list[dict[str, Any]]] = {}
    result: dict[str, Any] = {}
    context: dict[str, Any] = {}
    if kind in ("GradeEvent", "OutcomeEvent"):
        # The learner is the attempt's assignee; the grader is the context's instructor.
        assignee = target.get("assignee") or (generated or {}).get("assignee")
        actor = agent_of(_entity(assignee, "object.assignee"), "object.assignee")
        grader = _entity(event.get("actor"), "actor")
        if grader.get("type", "Person") == "Person":
            context["instructor"] = agent_of(grader, "actor")
        assignable = target.get("assignable")
        target = _entity(assignable, "object.assignable") if assignable else target
        result["score"] = _score(generated or {})
    else:
        actor = agent_of(_entity(event.get("actor"), "actor"), "actor")
    activity = activity_of(target)

    if kind == "AssessmentItemEvent":
        part_of = target.get("isPartOf")
        if part_of:
            context_activities["parent"] = [activity_of(_entity(part_of, "object.isPartOf"))]
        response = _response(generated)
        if action == "Completed" and response is not None:
            result["response"] = response
    if kind in ("AssessmentEvent", "AssignableEvent") and generated:
        seconds = _seconds(generated.get("duration"))
        if seconds is not None:
            result["duration"] = generated["duration"]
    if kind == "SessionEvent":
        session = event.get("session")
        if isinstance(session, dict) and _seconds(session.get("duration")) is not None:
            result["duration"] = session["duration"]
    if kind == "MediaEvent":
        location = event.get("target")
        seconds = _seconds(location.get("currentTime")) if isinstance(location, dict) else None
        if seconds is not None:
            result["extensions"] = {VIDEO_TIME: seconds}

    group = event.get("group")
    if group:
        context_activities.setdefault("grouping", []).append(activity_of(_entity(group, "group")))
    if context_activities:
        context["contextActivities"] = context_activities
    ed_app = event.get("edApp")
    if ed_app:
        app = _entity(ed_app, "edApp")
        context["platform"] = app.get("name") if isinstance(app.get("name"), str) else app["id"]
    session = event.get("session")
    if session:
        context["registration"] = str(uuid.uuid5(_NAMESPACE, _entity(session, "session")["id"]))
    source_event: dict[str, Any] = {"type": kind, "action": action}
    for field in ("id", "@context", "extensions"):
        if field in event:
            source_event[field.lstrip("@")] = event[field]
    context["extensions"] = {EXT_SOURCE_EVENT: source_event}

    statement: dict[str, Any] = {
        "actor": actor,
        "verb": {"id": verb, "display": {"en-US": action}},
        "object": activity,
        "context": context,
        "timestamp": time,
    }
    if result:
        statement["result"] = result
    event_id = event.get("id")
    if isinstance(event_id, str) and formats.is_uuid(event_id.removeprefix("urn:uuid:")):
        statement["id"] = event_id.removeprefix("urn:uuid:").lower()
    elif isinstance(event_id, str) and event_id:
        statement["id"] = str(uuid.uuid5(_NAMESPACE, event_id))
    else:
        statement["id"] = derived_statement_id(statement)
    return statement


def events_of(record: Any) -> list[Any]:
    """The events of an envelope, or the record itself."""
    if isinstance(record, dict) and "sensor" in record and isinstance(record.get("data"), list):
        return record["data"]
    return [record]


def convert(record: RawEvent) -> Iterator[RawEvent]:
    items = events_of(record.statement)
    enveloped = len(items) != 1 or items[0] is not record.statement
    for position, item in enumerate(items):
        origin = f"{record.origin} data[{position}]" if enveloped else record.origin
        payload = orjson.dumps(item) if enveloped else record.payload
        if isinstance(item, dict) and "action" not in item and "type" in item:
            reason = f"caliper: a {item['type']} entity (a describe), not an event"
            yield RawEvent(payload, origin, reason, index=record.index)
            continue
        try:
            statement = to_statement(item)
        except CaliperEventError as error:
            yield RawEvent(payload, origin, f"caliper: {error}", index=record.index)
            continue
        yield RawEvent(orjson.dumps(statement), origin, statement=statement, index=record.index)


def read(context: SourceContext, paths: tuple[Path, ...]) -> Iterator[RawEvent | Checkpoint]:
    return read_files(context, paths, convert)


source = StatementSource(
    name="caliper",
    help="IMS Caliper 1.1/1.2 events and envelopes mapped to xAPI (docs/sources.md).",
    read=read,
    parameters=(paths_argument(),),
    cursor_key=lambda **options: "files",
    mapping=to_statement,
)
