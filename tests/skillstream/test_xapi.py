import hashlib

import orjson
import pytest

from skillstream.xapi.identity import (
    PSEUDONYM_HOME_PAGE,
    IdentityError,
    agent_learner_id,
    canonical_ifi,
    learner_id,
    pseudonymised_statement,
    roster_ifi,
    scrubbed_payload,
)
from skillstream.xapi.statements import (
    content_hash,
    derived_statement_id,
    duration_seconds,
    parse_timestamp,
    parse_validated_timestamp,
)
from skillstream.xapi.validate import validate_statement


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ({"mbox": "mailto:Ada.Lovelace@Example.COM"}, "mailto:ada.lovelace@example.com"),
        ({"mbox_sha1sum": "ABCDEF0123"}, "ABCDEF0123"),
        ({"openid": "https://id.example/Ada"}, "https://id.example/Ada"),
        (
            {"account": {"homePage": "https://lms.example", "name": "u-42"}},
            "https://lms.example|u-42",
        ),
    ],
)
def test_canonical_ifi_follows_the_design(agent, expected) -> None:
    assert canonical_ifi(agent) == expected


def test_learner_id_is_salted_sha256_of_the_canonical_ifi() -> None:
    ifi = canonical_ifi({"mbox": "mailto:A@B.example"})
    assert learner_id(ifi, "pepper") == hashlib.sha256(b"peppermailto:a@b.example").hexdigest()


def test_roster_and_statements_give_the_same_learner_id() -> None:
    from_statement = canonical_ifi({"mbox": "mailto:Ada@Example.com"})
    assert roster_ifi("ada@example.com") == from_statement
    assert roster_ifi("MAILTO:ADA@example.com") == from_statement
    assert roster_ifi("https://lms.example|u-42") == canonical_ifi(
        {"account": {"homePage": "https://lms.example", "name": "u-42"}}
    )


@pytest.mark.parametrize("cell", ["", "not-an-email", "|name", "home|"])
def test_roster_rejects_cells_that_name_nobody(cell: str) -> None:
    with pytest.raises(IdentityError):
        roster_ifi(cell)


def test_two_ifis_are_refused() -> None:
    with pytest.raises(IdentityError, match="exactly one"):
        canonical_ifi({"mbox": "mailto:a@b.c", "openid": "https://x"})


def test_derived_ids_are_stable_and_ignore_lrs_set_properties() -> None:
    statement = {
        "actor": {"mbox": "mailto:a@b.c"},
        "verb": {"id": "https://v"},
        "object": {"id": "https://o"},
    }
    stored = dict(statement, stored="2026-01-01T00:00:00Z", authority={"mbox": "mailto:lrs@x.y"})
    assert derived_statement_id(statement) == derived_statement_id(dict(statement))
    assert content_hash(statement) == content_hash(stored)
    assert content_hash(statement) != content_hash(dict(statement, verb={"id": "https://w"}))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("PT1H30M", 5400), ("PT4.5S", 4.5), ("P1DT2H", 93600), ("PT0S", 0), ("P2W", 1209600)],
)
def test_durations(value: str, seconds: float) -> None:
    assert duration_seconds(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "P", "PT", "1H", "PT1H2", "P1Y2"])
def test_bad_durations(value: str) -> None:
    with pytest.raises(ValueError):
        duration_seconds(value)


def test_validation_names_path_and_rule() -> None:
    errors = validate_statement(
        {
            "id": "nope",
            "actor": {"name": "x"},
            "object": {"id": "https://o"},
            "result": {"score": {"scaled": 2}},
        }
    )
    assert "id: must be a UUID string" in errors
    assert any(e.startswith("actor: must have exactly one of") for e in errors)
    assert "verb.id: is required and must be an IRI string" in errors
    assert "result.score.scaled: must be a number between -1 and 1" in errors


def test_a_valid_statement_has_no_errors() -> None:
    statement = {
        "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
        "actor": {"mbox": "mailto:a@b.c"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://o"},
        "result": {"score": {"scaled": 0.9}, "duration": "PT10M", "completion": True},
        "timestamp": "2026-07-01T10:00:00+02:00",
    }
    assert validate_statement(statement) == []


@pytest.mark.parametrize(
    "value",
    [
        "2026-07-13T10:27:10.812Z",
        "2026-07-13T10:27:10Z",
        "2026-07-13T10:27:10.123456789Z",
        "2026-07-13T10:27:10.9999999Z",
        "2026-07-13T10:27:10+01:00",
        "2026-07-13T10:27:10.5-05:30",
        "2026-07-13T10:27:10",
        "2026-07-13T10:27Z",
        "2026-07-13T10:27:10+0100",
        "2026-07-13T10:27:10.1+01",
        "2026-12-31T23:30:00-02:00",
    ],
)
def test_the_fast_timestamp_path_reads_the_same_instant(value: str) -> None:
    assert (
        validate_statement(
            {
                "actor": {"mbox": "mailto:a@example.com"},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
                "object": {"id": "https://example.com/a"},
                "timestamp": value,
            }
        )
        == []
    )
    assert parse_validated_timestamp(value) == parse_timestamp(value)


ADA = {"objectType": "Agent", "name": "Ada Lovelace", "mbox": "mailto:Ada@Example.com"}
BOB = {"name": "Bob Stone", "account": {"homePage": "https://lms.example", "name": "bob-7"}}
CAROL = {"name": "Carol Ng", "openid": "https://id.example/carol"}
DAN = {"objectType": "Agent", "name": "Dan Ito", "mbox_sha1sum": "a" * 40}
TEAM = {"objectType": "Group", "name": "Team Blue", "member": [BOB, CAROL]}
SALT = "s"
ACTIVITY = {"id": "https://lms.example/a"}
UUID_UPPER = "0F4B0A39-6A0B-4A57-A7B8-57A4B3CFE0A1"
# every role in which a statement names a person (xAPI 2.0 Data 2.4)
EVERY_ROLE = {
    "id": UUID_UPPER,
    "actor": {**TEAM, "mbox": "mailto:blue@example.com"},
    "verb": {"id": "https://verbs.example/mentored"},
    "object": {
        "objectType": "SubStatement",
        "actor": ADA,
        "verb": {"id": "https://verbs.example/graded"},
        "object": DAN,
        "context": {"instructor": CAROL},
    },
    "context": {
        "instructor": DAN,
        "team": TEAM,
        "contextAgents": [{"objectType": "contextAgent", "agent": ADA}],
        "contextGroups": [{"objectType": "contextGroup", "group": TEAM}],
        "statement": {"objectType": "StatementRef", "id": UUID_UPPER},
    },
    "authority": {"objectType": "Group", "member": [ADA, DAN]},
    "timestamp": "2026-07-01T12:00:00Z",
}
PEOPLE = (
    "Lovelace",
    "Ada@",
    "Bob",
    "Carol",
    "Dan",
    "Blue",
    "example.com",
    "bob-7",
    "/carol",
    "a" * 40,
)


def pseudonym(ifi: str, object_type: str = "Agent") -> dict:
    return {
        "objectType": object_type,
        "account": {"homePage": PSEUDONYM_HOME_PAGE, "name": learner_id(ifi, SALT)},
    }


def test_every_person_in_every_role_is_their_learner_id_without_a_name() -> None:
    assert not validate_statement(EVERY_ROLE)
    stored = pseudonymised_statement(EVERY_ROLE, SALT)
    text = orjson.dumps(stored).decode()
    assert not [person for person in PEOPLE if person.lower() in text.lower()]
    ada, dan = pseudonym("mailto:ada@example.com"), pseudonym("a" * 40)
    bob, carol = pseudonym("https://lms.example|bob-7"), pseudonym("https://id.example/carol")
    team = {"objectType": "Group", "member": [bob, carol]}
    assert stored["actor"] == {
        **pseudonym("mailto:blue@example.com", "Group"),
        "member": [bob, carol],
    }
    assert stored["object"]["actor"] == ada and stored["object"]["object"] == dan
    assert stored["object"]["context"] == {"instructor": carol}
    context = stored["context"]
    assert (context["instructor"], context["team"]) == (dan, team)
    assert context["contextAgents"] == [{"objectType": "contextAgent", "agent": ada}]
    assert context["contextGroups"] == [{"objectType": "contextGroup", "group": team}]
    assert stored["authority"] == {"objectType": "Group", "member": [ada, dan]}
    assert not validate_statement(stored)  # still a statement, of the same shape
    assert list(stored) == list(EVERY_ROLE)


def test_statement_ids_are_stored_lowercase() -> None:
    stored = pseudonymised_statement(EVERY_ROLE, SALT)
    assert stored["id"] == stored["context"]["statement"]["id"] == UUID_UPPER.lower()
    voiding = {"actor": ADA, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"}}
    voiding["object"] = {"objectType": "StatementRef", "id": UUID_UPPER}
    assert pseudonymised_statement(voiding, SALT)["object"]["id"] == UUID_UPPER.lower()


def test_an_anonymous_group_actor_is_one_unit_of_its_members() -> None:
    group = {"objectType": "Group", "member": [BOB, ADA, BOB]}
    reordered = {"objectType": "Group", "member": [{"mbox": "mailto:ada@example.COM"}, BOB]}
    unit = agent_learner_id(group, SALT)
    assert (
        unit
        == agent_learner_id(reordered, SALT)
        != agent_learner_id({**group, "member": [BOB]}, SALT)
    )
    assert unit not in {agent_learner_id(BOB, SALT), agent_learner_id(ADA, SALT)}
    assert agent_learner_id(ADA, SALT) == learner_id(canonical_ifi(ADA), SALT)
    with pytest.raises(IdentityError):
        agent_learner_id({"objectType": "Group", "member": []}, SALT)


def test_pseudonymising_again_changes_nothing() -> None:
    """A stored statement, or a quarantined one replayed from the DLQ once its cause is fixed,
    names each person by the same learner id as the first time."""
    stored = pseudonymised_statement(EVERY_ROLE, SALT)
    assert pseudonymised_statement(stored, SALT) == stored
    anonymous = {"objectType": "Group", "member": [ADA, BOB]}
    assert agent_learner_id(pseudonymised_statement({"actor": anonymous}, SALT)["actor"], SALT) == (
        agent_learner_id(anonymous, SALT)
    )
    invalid = {**EVERY_ROLE, "actor": ADA, "verb": {}}
    replayed = orjson.loads(scrubbed_payload(orjson.dumps(invalid), SALT))
    assert agent_learner_id(replayed["actor"], SALT) == agent_learner_id(ADA, SALT)
    # an account of that home page that is not a learner id is an account like any other
    odd = {"account": {"homePage": PSEUDONYM_HOME_PAGE, "name": "ada"}}
    assert agent_learner_id(odd, SALT) == learner_id(f"{PSEUDONYM_HOME_PAGE}|ada", SALT)


def test_a_quarantined_json_payload_keeps_its_shape_without_names_or_emails() -> None:
    invalid = {
        **EVERY_ROLE,
        "actor": {"name": "Ada Lovelace", "mbox": "Ada@Example.com"},  # no mailto:
        "verb": {"display": {"en": "mailed bob.stone@example.org"}},
        "context": {"instructor": {"name": "Dan Ito", "mbox": "mailto:dan@x.org", "openid": 5}},
    }
    payload = orjson.loads(scrubbed_payload(orjson.dumps(invalid), SALT))
    text = orjson.dumps(payload).decode()
    assert not [person for person in (*PEOPLE, "dan@x", "Ito") if person.lower() in text.lower()]
    assert payload["actor"] == {"account": pseudonym("mailto:ada@example.com")["account"]}
    bob = learner_id("mailto:bob.stone@example.org", SALT)
    assert payload["verb"] == {"display": {"en": f"mailed {bob}"}}
    # two identifiers: each its learner id (or a marker), no account to mistake for one
    instructor = payload["context"]["instructor"]
    assert instructor == {"mbox": learner_id("mailto:dan@x.org", SALT), "openid": "[removed]"}


def test_a_quarantined_payload_that_is_not_json_has_its_emails_replaced() -> None:
    payload = b'{"actor": {"mbox": "mailto:Ada@Example.com", "name": "Ada"}, oops'
    text = scrubbed_payload(payload, SALT)
    assert "example.com" not in text.lower()
    assert learner_id("mailto:ada@example.com", SALT) in text


@pytest.mark.parametrize("depth", [300, 1000, 5000])
def test_a_payload_nested_too_deep_for_json_has_its_emails_replaced(depth: int) -> None:
    payload = b'{"actor": ' + b"[" * depth + b'"ada@example.com"' + b"]" * depth + b"}"
    text = scrubbed_payload(payload, SALT)
    assert "example.com" not in text and learner_id("mailto:ada@example.com", SALT) in text
