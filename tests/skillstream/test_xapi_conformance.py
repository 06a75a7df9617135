"""The validator against third-party material: the ADL LRS conformance suite's statement
cases (every expected verdict) and real corpora (accepted)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import orjson
import pytest

from skillstream.xapi.validate import validate_statement
from tests.conftest import CORPUS

ADL = CORPUS / "adl-conformance"
REAL = CORPUS / "real"
# The one file of the cmi5 samples that is not JSON (corpus README): bad input, not a statement.
# A JSON path as errors write it: `$`, or names, `[index]` and `["free key"]` after a name.
PATH = re.compile(r'(?:\$|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\]|\["[^"]*"\])*)\Z')
CMI5_MALFORMED = "16-not_applicable-no_launch/05-initialized_statement.json"


@pytest.mark.parametrize(
    ("cases", "version"),
    [("v2_0_statement_cases.json", "2.0.0"), ("v1_0_3_statement_cases.json", "1.0.3")],
)
def test_every_adl_conformance_verdict(cases: str, version: str) -> None:
    suite = orjson.loads((ADL / cases).read_bytes())
    assert len(suite) in (972, 950)
    disagreements = []
    for case in suite:
        errors = validate_statement(case["statement"], version=version)
        expected_valid = case["expect"] == [200]
        if (not errors) != expected_valid:
            disagreements.append((case["config_file"], case["name"], case["expect"], errors))
    assert disagreements == [], (
        f"{len(disagreements)} of {len(suite)} disagree: {disagreements[:5]}"
    )


def test_every_rejection_names_a_path_and_a_rule() -> None:
    suite = orjson.loads((ADL / "v2_0_statement_cases.json").read_bytes())
    for case in suite:
        for error in validate_statement(case["statement"]):
            path, sep, rule = error.partition(": ")
            assert sep and path and rule, error
            assert PATH.match(path), error


def test_the_2_0_suite_rejects_2_0_properties_under_1_0_3() -> None:
    suite = orjson.loads((ADL / "v2_0_statement_cases.json").read_bytes())
    with_context_agents = [
        case["statement"]
        for case in suite
        if case["expect"] == [200] and "contextAgents" in orjson.dumps(case["statement"]).decode()
    ]
    assert with_context_agents
    for statement in with_context_agents:
        assert validate_statement(statement) == []
        assert any(
            "contextAgents: is not a property of a Context" in error
            for error in validate_statement(statement, version="1.0.3")
        )


def _cmi5_statements() -> list[tuple[str, dict]]:
    found = []
    for path in sorted((REAL / "cmi5-scenarios").rglob("*.json")):
        name = str(path.relative_to(REAL / "cmi5-scenarios"))
        if name == CMI5_MALFORMED:
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(path.read_bytes())
            continue
        document = orjson.loads(path.read_bytes())
        for item in document if isinstance(document, list) else [document]:
            if isinstance(item, dict) and "verb" in item:  # launch data and preferences are not
                found.append((name, item))
    return found


def test_real_corpora_are_accepted() -> None:
    with gzip.open(REAL / "ralph-potsie-statements.ndjson.gz") as handle:
        potsie = [orjson.loads(line) for line in handle]
    datasim = orjson.loads((REAL / "datasim-tccc-dev.json").read_bytes())
    cmi5 = _cmi5_statements()
    assert (len(potsie), len(datasim), len(cmi5)) == (22_000, 2_814, 104)
    # No named spec clause rejects any of them: every statement must be valid.
    rejected = [
        (origin, errors)
        for origin, statement in [
            *(("potsie", s) for s in potsie),
            *(("datasim", s) for s in datasim),
            *cmi5,
        ]
        if (errors := validate_statement(statement))
    ]
    assert rejected == []


def test_the_malformed_cmi5_file_is_bad_input(tmp_path: Path) -> None:
    from skillstream.xapi.strict_json import JsonInputError, loads

    with pytest.raises(JsonInputError, match="malformed JSON"):
        loads((REAL / "cmi5-scenarios" / CMI5_MALFORMED).read_bytes())
