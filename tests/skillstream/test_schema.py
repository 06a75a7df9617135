"""The JSON Schema of the OpenAPI description follows the validator's rules."""

from __future__ import annotations

import jsonschema
import orjson

from skillstream.xapi import schema
from skillstream.xapi.validate import OBJECT_RULES
from tests.conftest import CORPUS


def test_the_schema_is_valid_json_schema_and_names_every_rule() -> None:
    document = schema.standalone()
    jsonschema.Draft202012Validator.check_schema(document)
    for name, (checks, required) in OBJECT_RULES.items():
        definition = document["$defs"][name]
        assert set(definition["properties"]) == set(checks), name
        assert definition.get("required", []) == list(required), name
        assert definition["additionalProperties"] is False


def test_every_valid_adl_case_passes_the_schema_and_unknown_keys_fail() -> None:
    validator = jsonschema.Draft202012Validator(schema.standalone())
    for cases in ("v2_0_statement_cases.json", "v1_0_3_statement_cases.json"):
        for case in orjson.loads((CORPUS / "adl-conformance" / cases).read_bytes()):
            if case["expect"] == [200]:
                assert list(validator.iter_errors(case["statement"])) == [], case["name"]
    bad = {
        "actor": {"mbox": "mailto:a@b.c"},
        "verb": {"id": "https://v.example"},
        "object": {"id": "https://o.example"},
        "Result": {},
    }
    assert not validator.is_valid(bad)
