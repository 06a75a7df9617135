import hashlib

import pytest

from skillstream.xapi.identity import IdentityError, canonical_ifi, learner_id, roster_ifi
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
