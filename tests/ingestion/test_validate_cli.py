"""`skillstream validate PATH --json [--xapi-version]` as docs/design.md §3 describes it."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from skillstream.settings import Settings
from tests.conftest import CORPUS, run_cli

VALID = {
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {"mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
    "object": {"id": "https://lms.example/a/1"},
}


def test_one_json_line_per_input_line(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    invalid = dict(VALID, id="nope", actor={"mbox": "ada@example.com"})
    path.write_bytes(
        orjson.dumps(VALID)
        + b"\n"
        + orjson.dumps(invalid)
        + b"\n\n{broken\n"
        + b'{"actor": {}, "actor": {}}\n'
    )
    result = run_cli(settings, "validate", str(path), "--json", check=False)
    assert result.returncode == 2  # some statements are invalid
    reports = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert reports[0] == {"index": 0, "id": VALID["id"], "valid": True, "errors": []}
    assert reports[1] == {
        "index": 1,
        "id": "nope",
        "valid": False,
        "errors": [
            "id: must be a UUID string",
            "actor.mbox: must be a mailto: IRI (mailto:name@host)",
        ],
    }
    assert reports[2]["index"] == 3  # the blank line 2 counts, reports nothing
    assert reports[2]["errors"][0].startswith("$: malformed JSON")
    assert reports[3]["errors"] == [
        "$: duplicate key 'actor' in one object (RFC 8259 names must be unique)"
    ]


def test_the_xapi_version_option(settings: Settings, tmp_path: Path) -> None:
    context_agents = dict(
        VALID,
        context={
            "contextAgents": [
                {"objectType": "contextAgent", "agent": {"mbox": "mailto:t@example.com"}}
            ]
        },
    )
    path = tmp_path / "one.json"
    path.write_bytes(orjson.dumps(context_agents))
    assert run_cli(settings, "validate", str(path), "--json").stdout.count('"valid":true') == 1
    old = run_cli(settings, "validate", str(path), "--json", "--xapi-version", "1.0.3", check=False)
    assert old.returncode == 2
    assert "context.contextAgents: is not a property of a Context" in old.stdout


def test_a_real_gzipped_corpus_is_all_valid(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "potsie.ndjson.gz"
    with gzip.open(CORPUS / "real" / "ralph-potsie-statements.ndjson.gz") as source:
        lines = source.read().splitlines()[:500]
    with gzip.open(path, "wb") as handle:
        handle.write(b"\n".join(lines))
    result = run_cli(settings, "validate", str(path))
    assert result.stdout.strip() == "500 of 500 statement(s) valid (xAPI 2.0.0)"
