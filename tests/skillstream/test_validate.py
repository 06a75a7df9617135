"""The validator's rules one by one: the path and rule of each error, and what stays valid."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from skillstream.xapi import formats
from skillstream.xapi.statements import duration_seconds, parse_timestamp
from skillstream.xapi.validate import validate_statement

BASE: dict[str, Any] = {
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
    "object": {
        "id": "https://lms.example/q/1",
        "definition": {
            "name": {"en-US": "Question 1"},
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            "interactionType": "choice",
            "correctResponsesPattern": ["a"],
            "choices": [{"id": "a", "description": {"en-US": "A"}}, {"id": "b"}],
        },
    },
    "result": {"score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10}, "duration": "PT1M"},
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {"parent": [{"id": "https://lms.example/course"}]},
        "language": "en-GB",
        "extensions": {
            "https://w3id.org/skillstream/ext/skill": "sql",
            "https://x.example/n": None,
        },
    },
    "timestamp": "2026-07-01T10:00:00.123+02:00",
}


def statement(**changes: Any) -> dict[str, Any]:
    """BASE with dotted paths set (value ...) or removed (value None is kept: use DELETE)."""
    result = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = result
        for key in parents:
            target = target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return result


DELETE = object()


def test_the_base_statement_is_valid_in_both_versions() -> None:
    assert validate_statement(BASE) == []
    assert validate_statement(BASE, version="1.0.3") == []


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"actor__mbox": "ada@example.com"},
            "actor.mbox: must be a mailto: IRI (mailto:name@host)",
        ),
        (
            {"actor__mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"},
            "actor: must have exactly one of mbox, mbox_sha1sum, openid, account (found 2)",
        ),
        (
            {"actor": {"mbox_sha1sum": "xyz"}},
            "actor.mbox_sha1sum: must be the hex SHA-1 of a mailto: IRI (40 hex digits)",
        ),
        ({"actor": {"openid": "not a uri"}}, "actor.openid: must be a URI"),
        ({"actor": {"account": {"name": "u-1"}}}, "actor.account.homePage: is required"),
        (
            {"actor": {"account": {"homePage": "lms", "name": "u-1"}}},
            "actor.account.homePage: must be an IRL (a resolvable IRI such as https://example.com/x)",
        ),
        (
            {"actor": {"objectType": "agent", "mbox": "mailto:a@b.c"}},
            'actor.objectType: must be "Agent" or "Group"',
        ),
        (
            {"actor": {"objectType": "Group", "name": "team"}},
            "actor.member: an anonymous Group must list its members",
        ),
        (
            {
                "actor": {
                    "objectType": "Group",
                    "member": [{"objectType": "Group", "mbox": "mailto:g@b.c"}],
                }
            },
            "actor.member[0]: a Group cannot be a member of a Group",
        ),
        (
            {"actor__Mbox": "mailto:x@y.z"},
            "actor.Mbox: is not a property of an Agent (names are case-sensitive)",
        ),
        ({"actor__name": None}, "actor.name: must not be null"),
        (
            {"verb__id": "answered"},
            "verb.id: must be an IRI (an absolute IRI such as https://example.com/x)",
        ),
        ({"verb__display": {"en_GB": "x"}}, "verb.display.en_GB: is not an RFC 5646 language tag"),
        (
            {"object__objectType": "activity"},
            "object.objectType: must be one of Activity, Agent, Group, SubStatement, StatementRef",
        ),
        (
            {"object__definition__interactionType": "Choice"},
            "object.definition.interactionType: must be one of true-false, choice, fill-in, "
            "long-fill-in, matching, performance, sequencing, likert, numeric, other",
        ),
        (
            {"object__definition__scale": [{"id": "1"}]},
            "object.definition.scale: is not allowed with interactionType 'choice'",
        ),
        (
            {"object__definition__choices": [{"id": "a"}, {"id": "a"}]},
            "object.definition.choices[1].id: repeats 'a'; ids must be distinct",
        ),
        (
            {"object__definition__moreInfo": "nope"},
            "object.definition.moreInfo: must be an IRL (a resolvable IRI such as https://example.com/x)",
        ),
        ({"result__score__scaled": 1.5}, "result.score.scaled: must be a number between -1 and 1"),
        ({"result__score__raw": 11}, "result.score.raw: must not be greater than max"),
        ({"result__score__min": 10}, "result.score.min: must be less than max"),
        ({"result__score__max": "10"}, "result.score.max: must be a number, not a string"),
        ({"result__success": "true"}, "result.success: must be a boolean, not a string"),
        (
            {"result__duration": "P1W2D"},
            "result.duration: must be an ISO 8601 duration such as PT1H30M",
        ),
        ({"context__language": "en GB"}, "context.language: must be an RFC 5646 language tag"),
        ({"context__registration": "123"}, "context.registration: must be a UUID string"),
        (
            {"context__team": {"mbox": "mailto:t@x.y"}},
            'context.team.objectType: a Group must have objectType "Group"',
        ),
        (
            {"context__contextActivities__parents": []},
            "context.contextActivities.parents: must be one of parent, grouping, category, other",
        ),
        (
            {"context__extensions": {"skill": "sql"}},
            "context.extensions.skill: an extension key must be an IRI",
        ),
        (
            {"context__extensions": {"my skill": 1}},
            'context.extensions["my skill"]: an extension key must be an IRI',
        ),
        (
            {"timestamp": "2026-07-01 10:00:00Z"},
            "timestamp: must be an RFC 3339 / ISO 8601 date-time such as 2026-07-01T10:00:00Z",
        ),
        ({"timestamp": "2026-02-30T10:00:00Z"}, "timestamp: is not a real date and time"),
        (
            {"timestamp": "2026-07-01T10:00:00-00:00"},
            "timestamp: must not use the offset -00:00 (xAPI Data 4.5)",
        ),
        ({"id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee0"}, "id: must be a UUID string"),
        (
            {"version": "1.1.0"},
            "version: must be an xAPI version this LRS accepts (1.0.x or 2.0.x)",
        ),
        ({"Result": {}}, "Result: is not a property of a Statement (names are case-sensitive)"),
        ({"verb": DELETE}, "verb.id: is required and must be an IRI string"),
        ({"object": DELETE}, "object: is required and must be an object"),
    ],
)
def test_each_rule_names_its_path(changes: dict[str, Any], error: str) -> None:
    errors = validate_statement(statement(**changes))
    assert error in errors, errors


def test_revision_and_platform_only_with_an_activity_object() -> None:
    agent_object = statement(
        object={"objectType": "Agent", "mbox": "mailto:bo@example.com"},
        context__revision="r1",
        context__platform="LMS",
    )
    assert validate_statement(agent_object) == [
        "context.revision: must only be used when the object is an Activity, not a Agent",
        "context.platform: must only be used when the object is an Activity, not a Agent",
    ]
    assert validate_statement(statement(context__revision="r1", context__platform="LMS")) == []


def test_substatement_rules() -> None:
    inner = {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:bo@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/planned"},
        "object": {"id": "https://lms.example/q/1"},
    }
    assert validate_statement(statement(object=inner)) == []
    forbidden = dict(inner, id=BASE["id"], stored="2026-01-01T00:00:00Z", version="1.0.3")
    forbidden["authority"] = {"mbox": "mailto:lrs@example.com"}
    errors = validate_statement(statement(object=forbidden))
    for key in ("id", "stored", "version", "authority"):
        assert f"object.{key}: a SubStatement must not have {key}" in errors
    nested = dict(inner, object=dict(inner))
    assert validate_statement(statement(object=nested)) == [
        "object.object: a SubStatement cannot contain a SubStatement"
    ]
    assert "object.actor: is required and must be an Agent or Group" in validate_statement(
        statement(object={k: v for k, v in inner.items() if k != "actor"})
    )


def test_statement_ref_and_voiding() -> None:
    ref = {"objectType": "StatementRef", "id": "8f87ccde-bb56-4c2e-ab83-44982ef22df0"}
    voiding = {
        "actor": BASE["actor"],
        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        "object": ref,
    }
    assert validate_statement(voiding) == []
    assert validate_statement(dict(voiding, object={"objectType": "StatementRef"})) == [
        "object.id: is required and must be a UUID string"
    ]
    assert "object.objectType: a voiding statement's object must be a StatementRef" in (
        validate_statement(dict(voiding, object={"id": "https://lms.example/a"}))
    )


def test_context_agents_and_groups_are_2_0() -> None:
    context_agents = [
        {
            "objectType": "contextAgent",
            "agent": {"mbox": "mailto:tutor@example.com"},
            "relevantTypes": ["https://w3id.org/skillstream/roles/tutor"],
        }
    ]
    with_agents = statement(context__contextAgents=context_agents)
    assert validate_statement(with_agents) == []
    assert validate_statement(with_agents, version="1.0.3") == [
        "context.contextAgents: is not a property of a Context (names are case-sensitive)"
    ]
    bad = [{"objectType": "contextagent", "agent": {"name": "x"}, "relevantTypes": []}]
    assert validate_statement(statement(context__contextAgents=bad)) == [
        'context.contextAgents[0].objectType: must be "contextAgent"',
        "context.contextAgents[0].agent: must have exactly one of "
        "mbox, mbox_sha1sum, openid, account (found 0)",
        "context.contextAgents[0].relevantTypes: must be a non-empty array of IRIs",
    ]
    groups = [{"objectType": "contextGroup", "group": {"objectType": "Group", "member": []}}]
    assert validate_statement(statement(context__contextGroups=groups)) == [
        "context.contextGroups[0].group.member: an anonymous Group must list its members"
    ]


def test_attachments() -> None:
    attachment = {
        "usageType": "http://adlnet.gov/expapi/attachments/signature",
        "display": {"en-US": "Signature"},
        "contentType": "application/octet-stream",
        "length": 4235,
        "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634",
        "fileUrl": "https://files.example/sig.bin",
    }
    assert validate_statement(statement(attachments=[attachment])) == []
    broken = dict(attachment, length=-1, contentType="binary", sha2="abc")
    del broken["display"]
    assert validate_statement(statement(attachments=[broken])) == [
        "attachments[0].display: is required",
        "attachments[0].contentType: must be an Internet media type such as text/plain",
        "attachments[0].length: must be a non-negative integer (bytes)",
        "attachments[0].sha2: must be the hex SHA-2 hash of the attachment",
    ]


def test_authority_group_is_the_oauth_pair() -> None:
    pair = {
        "objectType": "Group",
        "member": [
            {"account": {"homePage": "https://lrs.example/oauth", "name": "app"}},
            {"mbox": "mailto:ada@example.com"},
        ],
    }
    assert validate_statement(statement(authority=pair)) == []
    three = dict(pair, member=[*pair["member"], {"mbox": "mailto:x@example.com"}])
    assert validate_statement(statement(authority=three)) == [
        "authority.member: a Group authority must have exactly two members"
    ]


def test_nulls_are_refused_outside_extensions_only() -> None:
    assert validate_statement(statement(context__extensions={"https://x.example/a": None})) == []
    assert validate_statement(statement(result__response=None)) == [
        "result.response: must not be null"
    ]
    assert validate_statement(statement(context__contextActivities__parent=None)) == [
        "context.contextActivities.parent: must not be null"
    ]


def test_a_non_object_statement() -> None:
    assert validate_statement([BASE]) == ["$: a statement must be a JSON object"]


def test_unknown_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported xAPI version"):
        validate_statement(BASE, version="0.95")


@pytest.mark.parametrize(
    "tag",
    [
        "en",
        "en-US",
        "zh-Hant-TW",
        "sr-Latn-RS",
        "cmn",
        "tlh",
        "de-CH-1996",
        "x-klingon",
        "i-klingon",
        "en-a-bbb-x-a-ccc",
    ],
)
def test_language_tags_rfc_5646(tag: str) -> None:
    assert formats.is_language_tag(tag)


@pytest.mark.parametrize("tag", ["", "en GB", "a12345678", "en_US", "en-", "e", "en-US-"])
def test_not_language_tags(tag: str) -> None:
    assert not formats.is_language_tag(tag)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("PT0.5H", 1800), ("P1DT1.5S", 86401.5), ("PT1M0,5S", 60.5), ("P3Y1M29DT4H35M59.14S", None)],
)
def test_durations_with_fractions_on_the_last_component(value: str, seconds: float | None) -> None:
    parsed = duration_seconds(value)
    if seconds is not None:
        assert parsed == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["PT1.5H30M", "P1W2D", "P", "PT", "P1H", "-PT1S", "pt1s"])
def test_not_durations(value: str) -> None:
    with pytest.raises(ValueError):
        duration_seconds(value)


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2026-07-01T10:00:00Z", "2026-07-01 10:00:00"),
        ("2026-07-01T10:00:00.5+0200", "2026-07-01 08:00:00.500000"),
        ("2026-07-01T10:00:00+02", "2026-07-01 08:00:00"),
        ("2026-07-01T10:00:00.123456789-05:30", "2026-07-01 15:30:00.123456"),
        ("2026-07-01T10:00", "2026-07-01 10:00:00"),
    ],
)
def test_timestamps_to_utc(value: str, utc: str) -> None:
    assert validate_statement(statement(timestamp=value)) == []
    assert str(parse_timestamp(value)) == utc


def test_an_activity_seen_before_gets_the_same_findings_at_its_own_path() -> None:
    """Findings of activities are remembered (sources repeat them); each statement still gets
    every error of its own, at its own path, and values that only look alike stay apart."""
    bad = {"id": "https://lms.example/course", "definition": {"type": "not an iri"}}
    twice = statement(context__contextActivities={"parent": [bad], "grouping": [bad]})
    for _ in range(3):
        errors = validate_statement(copy.deepcopy(twice))
        assert [e.split(":")[0] for e in errors] == [
            "context.contextActivities.parent[0].definition.type",
            "context.contextActivities.grouping[0].definition.type",
        ]
    for _ in range(2):
        assert validate_statement(statement(context__contextActivities={"parent": []})) == []
    text = {"id": "https://lms.example/q", "definition": {"name": {"en-US": "1"}}}
    number = {"id": "https://lms.example/q", "definition": {"name": {"en-US": 1}}}
    assert validate_statement(statement(object=text)) == []
    assert validate_statement(statement(object=number)) == [
        'object.definition.name["en-US"]: must be a string, not a number'
    ]


def test_actors_verbs_and_contexts_seen_before_get_their_findings_at_their_own_path() -> None:
    """Actors, verbs and contexts are remembered too; a SubStatement's are its own paths, and a
    context's findings depend on the version as well as on its text."""
    actor = {"objectType": "Agent", "mbox": "ada@example.com"}  # not a mailto: IRI
    verb = {"id": "https://example.com/verbs/did", "display": {"en_US": "did"}}
    context = {"platform": "lms", "contextAgents": []}
    inner = {
        "objectType": "SubStatement",
        "actor": actor,
        "verb": verb,
        "object": {"id": "https://example.com/a"},
        "context": context,
    }
    outer = statement(actor=actor, verb=verb, context=context, object=inner)
    outer["context"] = {"platform": "lms", "contextAgents": []}  # platform: object not Activity
    for _ in range(2):
        assert [e.split(":")[0] for e in validate_statement(copy.deepcopy(outer))] == [
            "actor.mbox",
            "verb.display.en_US",
            "object.actor.mbox",
            "object.verb.display.en_US",
            "context.platform",
        ]
    for _ in range(2):
        assert validate_statement(statement(context=dict(context)), version="1.0.3") == [
            "context.contextAgents: is not a property of a Context (names are case-sensitive)"
        ]
        assert validate_statement(statement(context=dict(context))) == []
