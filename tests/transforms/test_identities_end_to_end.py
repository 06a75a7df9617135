"""Who a landed statement names, and which statement an id names, through the real chain:
records on a real broker, `skillstream transform`, the DuckDB warehouse it lands in.

No one's name or email reaches raw.statements or raw.quarantine, in any role; an id in upper
case is the same statement, and a voiding reference in upper case voids its target.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import orjson
import pytest

from skillstream.settings import Settings
from skillstream.xapi.identity import agent_learner_id, learner_id
from tests.transforms.test_exactly_once import produce_raw
from tests.transforms.test_normalise import STATEMENT

pytestmark = pytest.mark.integration

ADA = {"name": "Ada Lovelace", "mbox": "mailto:Ada@Example.com"}
BOB = {"name": "Bob Stone", "mbox": "mailto:bob@example.org"}
CAROL = {"name": "Carol Ng", "account": {"homePage": "https://lms.example", "name": "carol"}}
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
FIRST_ID = STATEMENT["id"]
VOIDING_ID = "9a3c4ba4-6e54-4c4b-8e8e-2d7a3e3c1b10"
GROUP_ID = "5b0e3f2a-1c1d-4e5f-8a9b-0c1d2e3f4a5b"
INVALID_ID = "7c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"


def test_what_lands_names_no_one_and_knows_a_statement_by_its_id_in_any_case(
    pipeline_settings: Settings, cli: Callable
) -> None:
    first = dict(STATEMENT, actor=ADA, context={**STATEMENT["context"], "instructor": BOB})
    again_in_upper_case = dict(first, id=FIRST_ID.upper())
    voiding = {
        "id": VOIDING_ID.upper(),
        "actor": ADA,
        "verb": {"id": VOIDED},
        "object": {"objectType": "StatementRef", "id": FIRST_ID.upper()},
    }
    pair = {"objectType": "Group", "name": "Ada and Carol", "member": [ADA, CAROL]}
    group = dict(STATEMENT, id=GROUP_ID, actor=pair)
    invalid = dict(STATEMENT, id=INVALID_ID.upper(), actor={"name": "Dan Ito", "mbox": "dan@x.io"})
    statements = [first, again_in_upper_case, voiding, group, invalid]
    values = [orjson.dumps(s) for s in statements] + [b"{not json from eve@example.net"]
    produce_raw(pipeline_settings, values)  # ingestion would dead-letter the invalid one

    cli(pipeline_settings, "transform", "--until-caught-up")

    con = duckdb.connect(str(pipeline_settings.warehouse), read_only=True)
    try:
        landed = con.execute(
            "SELECT statement_id, learner_id, is_voided, statement FROM raw.statements "
            "ORDER BY statement_id"
        ).fetchall()
        quarantined = con.execute(
            "SELECT statement_id, reasons, payload FROM raw.quarantine ORDER BY statement_id"
        ).fetchall()
    finally:
        con.close()
    salt = pipeline_settings.learner_salt()
    assert [row[:3] for row in landed] == [  # the upper-case id: the statement landed before
        (FIRST_ID, learner_id("mailto:ada@example.com", salt), True),
        (GROUP_ID, agent_learner_id(pair, salt), False),  # the group, as one unit
        (VOIDING_ID, learner_id("mailto:ada@example.com", salt), False),
    ]
    assert [row[0] for row in quarantined] == [INVALID_ID, None]
    stored = "\n".join([row[3] for row in landed] + [str(row[1:]) for row in quarantined])
    assert not [
        who
        for who in ("Ada", "Bob", "Carol", "carol", "Dan", "Ito", "@example", "@x.io")
        if who in stored
    ]
    assert learner_id("mailto:bob@example.org", salt) in landed[0][3]  # the instructor
    assert learner_id("mailto:dan@x.io", salt) in quarantined[0][2]
    assert learner_id("mailto:eve@example.net", salt) in quarantined[1][2]
