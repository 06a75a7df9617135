"""Statement validation: every error names the JSON path and the rule broken.

This is the structural core the pipeline relies on (an actor naming one learner, a verb,
an object, well-formed id, timestamp, score and duration). The spec-complete validator of
xAPI 1.0.3 / 2.0.0 replaces `validate_statement` behind the same signature.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from skillstream.xapi.identity import IdentityError, canonical_ifi
from skillstream.xapi.statements import duration_seconds, parse_timestamp


def _check_actor(actor: Any, errors: list[str]) -> None:
    if not isinstance(actor, dict):
        errors.append("actor: is required and must be an object")
        return
    if actor.get("objectType") == "Group" and not any(
        k in actor for k in ("mbox", "mbox_sha1sum", "openid", "account")
    ):
        errors.append("actor: an anonymous Group does not name a learner")
        return
    try:
        canonical_ifi(actor)
    except IdentityError as error:
        errors.append(str(error))


def _check_result(result: Any, errors: list[str]) -> None:
    if not isinstance(result, dict):
        errors.append("result: must be an object")
        return
    score = result.get("score")
    if score is not None:
        if not isinstance(score, dict):
            errors.append("result.score: must be an object")
        else:
            scaled = score.get("scaled")
            if scaled is not None and (
                not isinstance(scaled, int | float)
                or isinstance(scaled, bool)
                or math.isnan(scaled)
                or not -1 <= scaled <= 1
            ):
                errors.append("result.score.scaled: must be a number between -1 and 1")
    duration = result.get("duration")
    if duration is not None:
        try:
            duration_seconds(duration) if isinstance(duration, str) else duration_seconds("")
        except ValueError:
            errors.append("result.duration: must be an ISO 8601 duration")
    for flag in ("success", "completion"):
        if flag in result and not isinstance(result[flag], bool):
            errors.append(f"result.{flag}: must be a boolean")


def validate_statement(statement: Any) -> list[str]:
    """The reasons a statement is invalid; an empty list means it is valid."""
    if not isinstance(statement, dict):
        return ["$: a statement must be a JSON object"]
    errors: list[str] = []
    statement_id = statement.get("id")
    if statement_id is not None:
        try:
            if not isinstance(statement_id, str):
                raise ValueError
            uuid.UUID(statement_id)
        except ValueError:
            errors.append("id: must be a UUID string")
    _check_actor(statement.get("actor"), errors)
    verb = statement.get("verb")
    if not isinstance(verb, dict) or not isinstance(verb.get("id"), str) or not verb["id"]:
        errors.append("verb.id: is required and must be an IRI string")
    target = statement.get("object")
    if not isinstance(target, dict):
        errors.append("object: is required and must be an object")
    elif target.get("objectType", "Activity") in ("Activity", "StatementRef") and not isinstance(
        target.get("id"), str
    ):
        errors.append("object.id: is required and must be a string")
    if "result" in statement:
        _check_result(statement["result"], errors)
    for key in ("timestamp", "stored"):
        if key in statement:
            value = statement[key]
            try:
                if not isinstance(value, str):
                    raise ValueError
                parse_timestamp(value)
            except ValueError:
                errors.append(f"{key}: must be an RFC 3339 timestamp")
    context = statement.get("context")
    if context is not None and not isinstance(context, dict):
        errors.append("context: must be an object")
    return errors
