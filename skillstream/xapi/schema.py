"""The validator's rules as JSON Schema, for the OpenAPI description of `skillstream serve`.

Derived from `validate.OBJECT_RULES`, so the published schema lists exactly the
properties the validator accepts; the validator stays the one home of the rules (it also
checks what a schema cannot say well: one IFI, score bounds, the SubStatement and context
cross-rules). A rule the mapping below does not know fails loudly at start-up and in tests.
"""

from __future__ import annotations

from typing import Any

from skillstream.xapi import validate as v

_IRI = {"type": "string", "format": "iri"}
_STRING = {"type": "string"}
_LANGUAGE_MAP = {
    "type": "object",
    "description": "RFC 5646 language tag -> text",
    "additionalProperties": {"type": "string"},
}


def _values(ref: str) -> dict[Any, dict[str, Any]]:
    def one_of(*names: str) -> dict[str, Any]:
        return {"oneOf": [{"$ref": ref + name} for name in names]}

    def array_of(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"type": "array", "items": item, **extra}

    activity_or_list = {"oneOf": [{"$ref": ref + "Activity"}, array_of({"$ref": ref + "Activity"})]}
    rules = v.rules_for("2.0.0")
    return {
        v._string: _STRING,
        v._iri: _IRI,
        v._irl: {"type": "string", "format": "iri", "description": "an IRL"},
        v._uuid: {"type": "string", "format": "uuid"},
        v._timestamp: {"type": "string", "format": "date-time"},
        v._duration: {"type": "string", "format": "duration", "examples": ["PT1H30M"]},
        v._language_map: _LANGUAGE_MAP,
        v._language_tag: {"type": "string", "description": "an RFC 5646 language tag"},
        v._extensions: {"type": "object", "description": "IRI keys, any JSON values"},
        v._boolean: {"type": "boolean"},
        v._number: {"type": "number"},
        v._mbox: {"type": "string", "pattern": "^mailto:"},
        v._mbox_sha1sum: {"type": "string", "pattern": "^[0-9a-fA-F]{40}$"},
        v._openid: {"type": "string", "format": "uri"},
        v._account: {"$ref": ref + "Account"},
        v._agent: {"$ref": ref + "Agent"},
        v._group: {"$ref": ref + "Group"},
        v._members: array_of({"$ref": ref + "Agent"}),
        v._actor: one_of("Agent", "Group"),
        v._agent_or_group: one_of("Agent", "Group"),
        v._authority: one_of("Agent", "Group"),
        v._verb: {"$ref": ref + "Verb"},
        v._activity: {"$ref": ref + "Activity"},
        v._definition: {"$ref": ref + "ActivityDefinition"},
        v._components: array_of({"$ref": ref + "InteractionComponent"}),
        v._interaction_type: {"type": "string", "enum": list(v.INTERACTION_TYPES)},
        v._string_list: array_of(_STRING),
        v._statement_ref: {"$ref": ref + "StatementRef"},
        v._score: {"$ref": ref + "Score"},
        v._result: {"$ref": ref + "Result"},
        v._context_activities: {
            "type": "object",
            "properties": dict.fromkeys(v.CONTEXT_ACTIVITY_KEYS, activity_or_list),
            "additionalProperties": False,
        },
        v._relevant_types: array_of(_IRI, minItems=1),
        v._content_type: {"type": "string", "description": "an Internet media type"},
        v._length: {"type": "integer", "minimum": 0},
        v._sha2: {"type": "string", "pattern": "^[0-9a-fA-F]+$"},
        v._attachments: array_of({"$ref": ref + "Attachment"}),
        rules._context.__func__: {"$ref": ref + "Context"},  # type: ignore[attr-defined]
        rules._version.__func__: {"type": "string", "pattern": r"^[12]\.0(\.\d+)?$"},  # type: ignore[attr-defined]
        rules._object.__func__: one_of(  # type: ignore[attr-defined]
            "Activity", "Agent", "Group", "StatementRef", "SubStatement"
        ),
        rules._substatement_object.__func__: one_of(  # type: ignore[attr-defined]
            "Activity", "Agent", "Group", "StatementRef"
        ),
    }


def _schema_of(check: Any, values: dict[Any, dict[str, Any]], ref: str) -> dict[str, Any]:
    if hasattr(check, "const"):
        return {"type": "string", "const": check.const}
    if hasattr(check, "item"):
        return {"type": "array", "items": {"$ref": ref + check.item}}
    key = getattr(check, "__func__", check)
    if key not in values:
        raise KeyError(f"schema.py has no JSON Schema for the rule {check!r}")
    return values[key]


def definitions(ref: str = "#/components/schemas/") -> dict[str, dict[str, Any]]:
    """One JSON Schema per object of the data model, referring to each other by `ref`."""
    values = _values(ref)
    result: dict[str, dict[str, Any]] = {}
    for name, (checks, required) in v.OBJECT_RULES.items():
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {key: _schema_of(check, values, ref) for key, check in checks.items()},
            "additionalProperties": False,
        }
        if required:
            schema["required"] = list(required)
        result[name] = schema
    return result


def statement_or_array(ref: str = "#/components/schemas/") -> dict[str, Any]:
    return {
        "oneOf": [
            {"$ref": ref + "Statement"},
            {"type": "array", "items": {"$ref": ref + "Statement"}, "minItems": 1},
        ]
    }


def openapi_request_body(single: bool = False) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Statement"} if single else statement_or_array()
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def standalone(single: bool = False) -> dict[str, Any]:
    """A self-contained JSON Schema (2020-12) of a request body, for tools and tests."""
    ref = "#/$defs/"
    root = {"$ref": ref + "Statement"} if single else statement_or_array(ref)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **root,
        "$defs": definitions(ref),
    }
