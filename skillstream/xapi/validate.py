"""xAPI statement validation, as strict as the spec: every MUST of the data model of
xAPI 1.0.3 and 2.0.0 (IEEE 9274.1.1), every error naming the JSON path and the rule.

    >>> validate_statement({"actor": {"mbox": "ada@example.com"}, ...})
    ['actor.mbox: must be a mailto: IRI (mailto:name@host)', ...]

`validate_statement(statement, version=...)` is the one entry point: the HTTP endpoint,
`skillstream validate` and the Beam transform all call it. An empty list means valid.

Why hand-written and not pydantic models: the transform validates every statement of the
stream on two cores, so a typical statement must cost a few microseconds; one pass over
plain dicts with precompiled regexes does that, collects *every* error (not only the first
per model) and words each one as `path: rule`. `skillstream/xapi/schema.py` publishes the
same rules as a JSON Schema for the OpenAPI description; the rules live here. Numbers and
the comparison with ralph-malph's pydantic models: docs/validation.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson

from skillstream.xapi import formats
from skillstream.xapi.profile import VOIDED_VERB

SUPPORTED_VERSIONS = ("1.0.3", "2.0.0")
IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
INTERACTION_TYPES = (
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
)
# Interaction component lists each interaction type may carry (Data 2.4.4.1.1).
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
COMPONENTS_BY_TYPE = {
    "choice": ("choices",),
    "sequencing": ("choices",),
    "likert": ("scale",),
    "matching": ("source", "target"),
    "performance": ("steps",),
}
CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")
OBJECT_TYPES = ("Activity", "Agent", "Group", "SubStatement", "StatementRef")

Errors = list[str]
_Check = Callable[[Any, str, Errors], None]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _child(path: str, key: str) -> str:
    """The path of a free-form key: `a.b` when it is a plain name, else `a["key"]`."""
    if key.isidentifier():
        return _join(path, key)
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# ---- values --------------------------------------------------------------------------------


def _string(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str):
        errors.append(f"{path}: must be a string, not {_kind(value)}")


def _iri(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str) or not formats.is_iri(value):
        errors.append(f"{path}: must be an IRI (an absolute IRI such as https://example.com/x)")


def _irl(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str) or not formats.is_iri(value):
        errors.append(f"{path}: must be an IRL (a resolvable IRI such as https://example.com/x)")


def _uuid(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str) or not formats.is_uuid(value):
        errors.append(f"{path}: must be a UUID string")


def _timestamp(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str):
        errors.append(f"{path}: must be an RFC 3339 timestamp string, not {_kind(value)}")
        return
    problem = formats.timestamp_problem(value)
    if problem is not None:
        errors.append(f"{path}: {problem}")


def _duration(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str) or not formats.is_duration(value):
        errors.append(f"{path}: must be an ISO 8601 duration such as PT1H30M")


def _language_map(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be a language map (an object of RFC 5646 tag: string)")
        return
    for tag, text in value.items():
        if not formats.is_language_tag(tag):
            errors.append(f"{_child(path, tag)}: is not an RFC 5646 language tag")
        if not isinstance(text, str):
            errors.append(f"{_child(path, tag)}: must be a string, not {_kind(text)}")


def _extensions(value: Any, path: str, errors: Errors) -> None:
    # Values are free JSON (null included); only the keys are constrained.
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an object of IRI keys")
        return
    for key in value:
        if not formats.is_iri(key):
            errors.append(f"{_child(path, key)}: an extension key must be an IRI")


def _boolean(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, bool):
        errors.append(f"{path}: must be a boolean, not {_kind(value)}")


# ---- remembered findings ---------------------------------------------------------------


class _Findings:
    """The findings of one kind of object, remembered by its path and its JSON text.

    A source repeats the same objects statement after statement: the learner's actor, the
    verb, the course and module activities, the context of a session. Path and JSON text
    determine the findings (equal orjson text means equal JSON values: 1, 1.0 and true are
    kept apart), so each distinct object is checked once while it is remembered. Bounded:
    cleared when full, so a source without repeats costs one lookup an object.
    """

    def __init__(self, size: int = 4096) -> None:
        self._known: dict[tuple[str, bytes], tuple[str, ...]] = {}
        self._size = size

    def check(self, value: dict[str, Any], path: str, errors: Errors, rule: _Check) -> None:
        try:
            key = (path, orjson.dumps(value))
        except orjson.JSONEncodeError:  # a lone surrogate, an integer beyond 64 bits: not kept
            rule(value, path, errors)
            return
        known = self._known.get(key)
        if known is None:
            found: Errors = []
            rule(value, path, found)
            known = tuple(found)
            if len(self._known) >= self._size:
                self._known.clear()
            self._known[key] = known
        errors.extend(known)


_ACTIVITIES = _Findings()
_ACTORS = _Findings()
_VERBS = _Findings()


# ---- objects -------------------------------------------------------------------------------


def _properties(
    value: dict[str, Any], path: str, errors: Errors, checks: dict[str, _Check], what: str
) -> None:
    """Check each property with its rule; unknown properties and nulls are errors."""
    prefix = f"{path}." if path else ""
    get = checks.get
    for key, item in value.items():
        check = get(key)
        if check is not None and item is not None:
            check(item, prefix + key, errors)
        elif check is None:
            errors.append(
                f"{_child(path, key)}: is not a property of {what} (names are case-sensitive)"
            )
        else:
            errors.append(f"{prefix}{key}: must not be null")


def _mbox(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str) or not formats.is_mailto(value):
        errors.append(f"{path}: must be a mailto: IRI (mailto:name@host)")


def _mbox_sha1sum(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str) or not formats.is_sha1_hex(value):
        errors.append(f"{path}: must be the hex SHA-1 of a mailto: IRI (40 hex digits)")


def _openid(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str) or not formats.is_uri(value):
        errors.append(f"{path}: must be a URI")


def _account(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an object with homePage and name")
        return
    _properties(value, path, errors, _ACCOUNT_CHECKS, "an Account")
    for key in ("homePage", "name"):
        if key not in value:
            errors.append(f"{path}.{key}: is required")


_ACCOUNT_CHECKS: dict[str, _Check] = {"homePage": _irl, "name": _string}
_IFI_CHECKS: dict[str, _Check] = {
    "mbox": _mbox,
    "mbox_sha1sum": _mbox_sha1sum,
    "openid": _openid,
    "account": _account,
}


def _object_type(expected: str) -> _Check:
    def check(value: Any, path: str, errors: Errors) -> None:
        if value != expected:
            errors.append(f'{path}: must be "{expected}"')

    check.const = expected  # type: ignore[attr-defined]  # read by schema.py
    return check


def _count_ifis(value: dict[str, Any]) -> int:
    return (
        ("mbox" in value) + ("mbox_sha1sum" in value) + ("openid" in value) + ("account" in value)
    )


_AGENT_CHECKS: dict[str, _Check] = {
    "objectType": _object_type("Agent"),
    "name": _string,
    **_IFI_CHECKS,
}


def _agent(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an Agent object")
        return
    _properties(value, path, errors, _AGENT_CHECKS, "an Agent")
    found = _count_ifis(value)
    if found != 1:
        errors.append(f"{path}: must have exactly one of {', '.join(IFI_KEYS)} (found {found})")


def _members(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, list):
        errors.append(f"{path}: must be an array of Agents")
        return
    for index, member in enumerate(value):
        member_path = f"{path}[{index}]"
        if isinstance(member, dict) and member.get("objectType") == "Group":
            errors.append(f"{member_path}: a Group cannot be a member of a Group")
        else:
            _agent(member, member_path, errors)


_GROUP_CHECKS: dict[str, _Check] = {
    "objectType": _object_type("Group"),
    "name": _string,
    "member": _members,
    **_IFI_CHECKS,
}


def _group(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be a Group object")
        return
    if value.get("objectType") != "Group":
        errors.append(f'{path}.objectType: a Group must have objectType "Group"')
    _properties(value, path, errors, _GROUP_CHECKS, "a Group")
    found = _count_ifis(value)
    if found > 1:
        errors.append(
            f"{path}: an identified Group must have exactly one of {', '.join(IFI_KEYS)} "
            f"(found {found})"
        )
    elif found == 0 and not value.get("member"):
        errors.append(f"{path}.member: an anonymous Group must list its members")


def _agent_or_group(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an Agent or Group object, not {_kind(value)}")
    elif value.get("objectType", "Agent") == "Agent":
        _agent(value, path, errors)
    elif value["objectType"] == "Group":
        _group(value, path, errors)
    else:
        errors.append(f'{path}.objectType: must be "Agent" or "Group"')


def _authority(value: Any, path: str, errors: Errors) -> None:
    _agent_or_group(value, path, errors)
    if isinstance(value, dict) and value.get("objectType") == "Group":
        # Data 2.4.9: a Group authority is the OAuth consumer and user: anonymous, two Agents.
        if _count_ifis(value):
            errors.append(f"{path}: a Group authority must be an anonymous Group")
        members = value.get("member")
        if not isinstance(members, list) or len(members) != 2:
            errors.append(f"{path}.member: a Group authority must have exactly two members")


# ---- verb and activity ---------------------------------------------------------------------


_VERB_CHECKS: dict[str, _Check] = {"id": _iri, "display": _language_map}


def _verb(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be a Verb object")
        return
    _VERBS.check(value, path, errors, _verb_rules)


def _verb_rules(value: dict[str, Any], path: str, errors: Errors) -> None:
    if "id" not in value:
        errors.append(f"{path}.id: is required and must be an IRI string")
    _properties(value, path, errors, _VERB_CHECKS, "a Verb")


_COMPONENT_CHECKS: dict[str, _Check] = {"id": _string, "description": _language_map}


def _components(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, list):
        errors.append(f"{path}: must be an array of interaction components")
        return
    seen: set[str] = set()
    for index, component in enumerate(value):
        item_path = f"{path}[{index}]"
        if not isinstance(component, dict):
            errors.append(f"{item_path}: must be an interaction component object")
            continue
        _properties(component, item_path, errors, _COMPONENT_CHECKS, "an interaction component")
        component_id = component.get("id")
        if component_id is None:
            errors.append(f"{item_path}.id: is required")
        elif isinstance(component_id, str):
            if component_id in seen:
                errors.append(f"{item_path}.id: repeats {component_id!r}; ids must be distinct")
            seen.add(component_id)


def _interaction_type(value: Any, path: str, errors: Errors) -> None:
    if value not in INTERACTION_TYPES:
        errors.append(f"{path}: must be one of {', '.join(INTERACTION_TYPES)}")


def _string_list(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors.append(f"{path}: must be an array of strings")


_DEFINITION_CHECKS: dict[str, _Check] = {
    "name": _language_map,
    "description": _language_map,
    "type": _iri,
    "moreInfo": _irl,
    "extensions": _extensions,
    "interactionType": _interaction_type,
    "correctResponsesPattern": _string_list,
    **dict.fromkeys(COMPONENT_LISTS, _components),
}


def _definition(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an Activity Definition object")
        return
    _properties(value, path, errors, _DEFINITION_CHECKS, "an Activity Definition")
    interaction = value.get("interactionType")
    allowed = COMPONENTS_BY_TYPE.get(interaction, ()) if isinstance(interaction, str) else ()
    for key in COMPONENT_LISTS:
        if key in value and key not in allowed:
            errors.append(
                f"{path}.{key}: is not allowed with interactionType {interaction!r}"
                if interaction is not None
                else f"{path}.{key}: needs an interactionType that uses {key}"
            )
    if "correctResponsesPattern" in value and interaction is None:
        errors.append(f"{path}.correctResponsesPattern: needs an interactionType")


_ACTIVITY_CHECKS: dict[str, _Check] = {
    "objectType": _object_type("Activity"),
    "id": _iri,
    "definition": _definition,
}


def _activity(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an Activity object")
        return
    _ACTIVITIES.check(value, path, errors, _activity_rules)


def _activity_rules(value: dict[str, Any], path: str, errors: Errors) -> None:
    if "id" not in value:
        errors.append(f"{path}.id: is required and must be an IRI")
    _properties(value, path, errors, _ACTIVITY_CHECKS, "an Activity")


_STATEMENT_REF_CHECKS: dict[str, _Check] = {
    "objectType": _object_type("StatementRef"),
    "id": _uuid,
}


def _statement_ref(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be a StatementRef object")
        return
    if value.get("objectType") != "StatementRef":
        errors.append(f'{path}.objectType: a StatementRef must have objectType "StatementRef"')
    if "id" not in value:
        errors.append(f"{path}.id: is required and must be a UUID string")
    _properties(value, path, errors, _STATEMENT_REF_CHECKS, "a StatementRef")


# ---- result --------------------------------------------------------------------------------


def _number(value: Any, path: str, errors: Errors) -> None:
    if not _is_number(value):
        errors.append(f"{path}: must be a number, not {_kind(value)}")


_SCORE_CHECKS: dict[str, _Check] = dict.fromkeys(("scaled", "raw", "min", "max"), _number)


def _score(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be a Score object")
        return
    _properties(value, path, errors, _SCORE_CHECKS, "a Score")
    scaled: Any = value.get("scaled")
    raw: Any = value.get("raw")
    low: Any = value.get("min")
    high: Any = value.get("max")
    if _is_number(scaled) and not -1 <= scaled <= 1:
        errors.append(f"{path}.scaled: must be a number between -1 and 1")
    if _is_number(low) and _is_number(high) and not low < high:
        errors.append(f"{path}.min: must be less than max")
    if _is_number(raw):
        if _is_number(low) and raw < low:
            errors.append(f"{path}.raw: must not be less than min")
        if _is_number(high) and raw > high:
            errors.append(f"{path}.raw: must not be greater than max")


_RESULT_CHECKS: dict[str, _Check] = {
    "score": _score,
    "success": _boolean,
    "completion": _boolean,
    "response": _string,
    "duration": _duration,
    "extensions": _extensions,
}


def _result(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be a Result object")
        return
    _properties(value, path, errors, _RESULT_CHECKS, "a Result")


# ---- context -------------------------------------------------------------------------------


def _context_activities(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an object of parent, grouping, category, other")
        return
    for key, activities in value.items():
        key_path = _child(path, key)
        if key not in CONTEXT_ACTIVITY_KEYS:
            errors.append(f"{key_path}: must be one of {', '.join(CONTEXT_ACTIVITY_KEYS)}")
        elif activities is None:
            errors.append(f"{key_path}: must not be null")
        elif isinstance(activities, list):
            for index, activity in enumerate(activities):
                _activity(activity, f"{key_path}[{index}]", errors)
        else:
            _activity(activities, key_path, errors)


def _language_tag(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str) or not formats.is_language_tag(value):
        errors.append(f"{path}: must be an RFC 5646 language tag")


def _relevant_types(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, list) or not value:
        errors.append(f"{path}: must be a non-empty array of IRIs")
        return
    for index, item in enumerate(value):
        _iri(item, f"{path}[{index}]", errors)


_CONTEXT_AGENT_CHECKS: dict[str, _Check] = {
    "objectType": _object_type("contextAgent"),
    "agent": _agent,
    "relevantTypes": _relevant_types,
}
_CONTEXT_GROUP_CHECKS: dict[str, _Check] = {
    "objectType": _object_type("contextGroup"),
    "group": _group,
    "relevantTypes": _relevant_types,
}


def _typed_list(object_type: str, member: str, checks: dict[str, _Check]) -> _Check:
    """contextAgents / contextGroups: arrays of {objectType, agent|group, relevantTypes}."""

    def check(value: Any, path: str, errors: Errors) -> None:
        if not isinstance(value, list):
            errors.append(f"{path}: must be an array of {object_type} objects")
            return
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if not isinstance(item, dict):
                errors.append(f"{item_path}: must be a {object_type} object")
                continue
            for key in ("objectType", member):
                if key not in item:
                    errors.append(f"{item_path}.{key}: is required")
            _properties(item, item_path, errors, checks, f"a {object_type}")

    check.item = object_type  # type: ignore[attr-defined]  # read by schema.py
    return check


_CONTEXT_CHECKS_1: dict[str, _Check] = {
    "registration": _uuid,
    "instructor": _agent_or_group,
    "team": _group,
    "contextActivities": _context_activities,
    "revision": _string,
    "platform": _string,
    "language": _language_tag,
    "statement": _statement_ref,
    "extensions": _extensions,
}
_CONTEXT_CHECKS_2: dict[str, _Check] = {
    **_CONTEXT_CHECKS_1,
    "contextAgents": _typed_list("contextAgent", "agent", _CONTEXT_AGENT_CHECKS),
    "contextGroups": _typed_list("contextGroup", "group", _CONTEXT_GROUP_CHECKS),
}


# ---- attachments ---------------------------------------------------------------------------


def _content_type(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str) or not formats.is_media_type(value):
        errors.append(f"{path}: must be an Internet media type such as text/plain")


def _length(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        errors.append(f"{path}: must be a non-negative integer (bytes)")


def _sha2(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, str) or not formats.is_sha2_hex(value):
        errors.append(f"{path}: must be the hex SHA-2 hash of the attachment")


_ATTACHMENT_CHECKS: dict[str, _Check] = {
    "usageType": _iri,
    "display": _language_map,
    "description": _language_map,
    "contentType": _content_type,
    "length": _length,
    "sha2": _sha2,
    "fileUrl": _irl,
}
_ATTACHMENT_REQUIRED = ("usageType", "display", "contentType", "length", "sha2")


def _attachments(value: Any, path: str, errors: Errors) -> None:
    if not isinstance(value, list):
        errors.append(f"{path}: must be an array of Attachment objects")
        return
    for index, attachment in enumerate(value):
        item_path = f"{path}[{index}]"
        if not isinstance(attachment, dict):
            errors.append(f"{item_path}: must be an Attachment object, not {_kind(attachment)}")
            continue
        for key in _ATTACHMENT_REQUIRED:
            if key not in attachment:
                errors.append(f"{item_path}.{key}: is required")
        _properties(attachment, item_path, errors, _ATTACHMENT_CHECKS, "an Attachment")


# ---- statements ----------------------------------------------------------------------------

# Properties a SubStatement must not have (Data 2.4.4.3).
_NOT_IN_SUBSTATEMENT = ("id", "stored", "version", "authority")


class _StatementRules:
    """The statement-level rules of one xAPI version."""

    def __init__(self, version: str) -> None:
        self.version = version
        v2 = version.startswith("2.")
        context_checks = _CONTEXT_CHECKS_2 if v2 else _CONTEXT_CHECKS_1
        self.context_checks = context_checks
        self._contexts = _Findings()  # the findings of contexts depend on the version too
        self.statement_checks: dict[str, _Check] = {
            "id": _uuid,
            "actor": _actor,
            "verb": _verb,
            "object": self._object,
            "result": _result,
            "context": self._context,
            "timestamp": _timestamp,
            "stored": _timestamp,
            "authority": _authority,
            "version": self._version,
            "attachments": _attachments,
        }
        self.substatement_checks: dict[str, _Check] = {
            key: check
            for key, check in self.statement_checks.items()
            if key not in _NOT_IN_SUBSTATEMENT
        }
        self.substatement_checks["object"] = self._substatement_object
        self.substatement_checks["objectType"] = _object_type("SubStatement")
        self.accept_2_0 = v2

    def _version(self, value: Any, path: str, errors: Errors) -> None:
        if not isinstance(value, str) or not formats.is_version(value, self.accept_2_0):
            accepted = "1.0.x or 2.0.x" if self.accept_2_0 else "1.0.x"
            errors.append(f"{path}: must be an xAPI version this LRS accepts ({accepted})")

    def _context(self, value: Any, path: str, errors: Errors) -> None:
        if not isinstance(value, dict):
            errors.append(f"{path}: must be a Context object")
            return
        self._contexts.check(value, path, errors, self._context_rules)

    def _context_rules(self, value: dict[str, Any], path: str, errors: Errors) -> None:
        _properties(value, path, errors, self.context_checks, "a Context")

    def _object(self, value: Any, path: str, errors: Errors) -> None:
        self._any_object(value, path, errors, nested=False)

    def _substatement_object(self, value: Any, path: str, errors: Errors) -> None:
        self._any_object(value, path, errors, nested=True)

    def _any_object(self, value: Any, path: str, errors: Errors, nested: bool) -> None:
        if not isinstance(value, dict):
            errors.append(
                f"{path}: must be an object (Activity, Agent, Group, ...), not {_kind(value)}"
            )
            return
        object_type = value.get("objectType", "Activity")
        if object_type == "Activity":
            _activity(value, path, errors)
        elif object_type == "Agent":
            _agent(value, path, errors)
        elif object_type == "Group":
            _group(value, path, errors)
        elif object_type == "StatementRef":
            _statement_ref(value, path, errors)
        elif object_type == "SubStatement":
            if nested:
                errors.append(f"{path}: a SubStatement cannot contain a SubStatement")
            else:
                self._substatement(value, path, errors)
        else:
            errors.append(f"{path}.objectType: must be one of {', '.join(OBJECT_TYPES)}")

    def _substatement(self, value: dict[str, Any], path: str, errors: Errors) -> None:
        for key in _NOT_IN_SUBSTATEMENT:
            if key in value:
                errors.append(f"{path}.{key}: a SubStatement must not have {key}")
        self._body(
            {k: v for k, v in value.items() if k not in _NOT_IN_SUBSTATEMENT},
            path,
            errors,
            self.substatement_checks,
            "a SubStatement",
        )

    def _body(
        self,
        value: dict[str, Any],
        path: str,
        errors: Errors,
        checks: dict[str, _Check],
        what: str,
    ) -> None:
        for key, message in (
            ("actor", "is required and must be an Agent or Group"),
            ("verb", "is required and must be a Verb"),
            ("object", "is required and must be an object"),
        ):
            if key not in value:
                errors.append(
                    f"{_join(path, key)}.id: is required and must be an IRI string"
                    if key == "verb"
                    else f"{_join(path, key)}: {message}"
                )
        _properties(value, path, errors, checks, what)
        # Data 2.4.6: revision and platform only apply when the object is an Activity.
        context, target = value.get("context"), value.get("object")
        if isinstance(context, dict) and isinstance(target, dict):
            object_type = target.get("objectType", "Activity")
            if object_type != "Activity":
                for key in ("revision", "platform"):
                    if key in context:
                        errors.append(
                            f"{_join(path, 'context')}.{key}: must only be used when the "
                            f"object is an Activity, not a {object_type}"
                        )

    def validate(self, statement: Any) -> Errors:
        if not isinstance(statement, dict):
            return ["$: a statement must be a JSON object"]
        errors: Errors = []
        self._body(statement, "", errors, self.statement_checks, "a Statement")
        verb, target = statement.get("verb"), statement.get("object")
        if (
            isinstance(verb, dict)
            and verb.get("id") == VOIDED_VERB
            and isinstance(target, dict)
            and target.get("objectType") != "StatementRef"
        ):
            errors.append("object.objectType: a voiding statement's object must be a StatementRef")
        return errors


def _actor(value: Any, path: str, errors: Errors) -> None:
    if isinstance(value, dict):
        _ACTORS.check(value, path, errors, _agent_or_group)
    else:
        _agent_or_group(value, path, errors)


_RULES = {version: _StatementRules(version) for version in SUPPORTED_VERSIONS}

# The objects of the data model: their property rules and required properties. The JSON
# Schema of the OpenAPI description is derived from these (skillstream/xapi/schema.py).
OBJECT_RULES: dict[str, tuple[dict[str, _Check], tuple[str, ...]]] = {
    "Statement": (_RULES["2.0.0"].statement_checks, ("actor", "verb", "object")),
    "SubStatement": (
        _RULES["2.0.0"].substatement_checks,
        ("objectType", "actor", "verb", "object"),
    ),
    "Agent": (_AGENT_CHECKS, ()),
    "Group": (_GROUP_CHECKS, ("objectType",)),
    "Account": (_ACCOUNT_CHECKS, ("homePage", "name")),
    "Verb": (_VERB_CHECKS, ("id",)),
    "Activity": (_ACTIVITY_CHECKS, ("id",)),
    "ActivityDefinition": (_DEFINITION_CHECKS, ()),
    "InteractionComponent": (_COMPONENT_CHECKS, ("id",)),
    "StatementRef": (_STATEMENT_REF_CHECKS, ("objectType", "id")),
    "Result": (_RESULT_CHECKS, ()),
    "Score": (_SCORE_CHECKS, ()),
    "Context": (_CONTEXT_CHECKS_2, ()),
    "contextAgent": (_CONTEXT_AGENT_CHECKS, ("objectType", "agent")),
    "contextGroup": (_CONTEXT_GROUP_CHECKS, ("objectType", "group")),
    "Attachment": (_ATTACHMENT_CHECKS, _ATTACHMENT_REQUIRED),
}


def rules_for(version: str) -> _StatementRules:
    """The rules of `1.0.x` (1.0.3) or `2.0.x` (2.0.0, which also accepts 1.0.x statements)."""
    if version.startswith("1.0"):
        return _RULES["1.0.3"]
    if version.startswith("2.0"):
        return _RULES["2.0.0"]
    raise ValueError(f"unsupported xAPI version {version!r}; use 1.0.3 or 2.0.0")


def validate_statement(statement: Any, *, version: str = "2.0.0") -> list[str]:
    """The reasons a statement is invalid under xAPI `version`; an empty list means valid."""
    return rules_for(version).validate(statement)
