"""Strict JSON: duplicate keys are refused however the document is spelled.

The fast checks (the document written again; the ends of keys counted against the parsed
keys) must never let a duplicate through: spaced colons, strings holding colons, escaped
quotes and nesting are the ways they could be fooled.
"""

from __future__ import annotations

import random

import orjson
import pytest

from skillstream.xapi import strict_json
from skillstream.xapi.strict_json import JsonInputError, loads

DUPLICATED = [
    (b'{"a":1,"a":2}', "a"),
    (b'{"a":1, "a" :2}', "a"),  # one spaced colon: `":` count equals the parsed keys
    (b'{"a" :1,"a":2,"b":3}', "a"),
    (b'{"x":{"a":1,"a":1}}', "a"),
    (b'[{"k":"v"},{"k":"v","k":"w"}]', "k"),
    (b'{"s":"say \\":\\" twice","s":1}', "s"),  # escaped quote and colon inside a string
    (b'{"a\\"":1,"a\\"":2}', 'a"'),
    (b'{"a"\n:1,\n"a"\t:2}', "a"),
    (b'{"\\u0061":1,"a":2}', "a"),  # the same name, spelled two ways
    (b'{"a": " :", "a" : 1}', "a"),  # a string value that looks like the end of a key
]
UNIQUE = [
    b'{"a":1,"b":2}',
    b'{"a" : 1 , "b" : {"a" : 2}}',
    b'{"s":"\\":\\":\\":","t":"a\\"b"}',
    b'{"a":[{"a":1},{"a":2}],"b":[]}',
    b'{"a":"\\u0022:"}',
    b'{"a": " :", "b" : ":", "c":"x" }',
    b"[]",
    b'"just a string"',
]


@pytest.mark.parametrize(("document", "key"), DUPLICATED)
def test_a_duplicated_key_is_refused_and_named(document: bytes, key: str) -> None:
    with pytest.raises(JsonInputError, match=f"duplicate key {key!r}"):
        loads(document)


@pytest.mark.parametrize("document", UNIQUE)
def test_documents_with_unique_keys_parse_as_orjson_parses_them(document: bytes) -> None:
    assert loads(document) == orjson.loads(document)


def test_random_documents_with_one_key_repeated_are_all_refused() -> None:
    rng = random.Random(11)
    spacings = ["", " ", "\n", "\t "]
    for _ in range(400):
        keys = [f"k{i}" for i in range(rng.randrange(1, 6))]
        members = []
        for key in keys:
            value = rng.choice(["1", '"v"', '"a\\":b"', '{"n":1}', "[1,2]"])
            space = rng.choice(spacings)
            members.append(f'"{key}"{space}:{rng.choice(spacings)}{value}')
        repeated = rng.choice(keys)
        members.insert(rng.randrange(len(members) + 1), f'"{repeated}"{rng.choice(spacings)}:0')
        document = ("{" + ",".join(members) + "}").encode()
        nested = rng.random() < 0.5
        if nested:
            document = b'{"outer":' + document + b',"z":1}'
        with pytest.raises(JsonInputError, match=f"duplicate key '{repeated}'"):
            loads(document)


def test_spaced_documents_without_escapes_are_checked_without_the_full_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Spaced JSON (as Python's json.dumps writes it) is common; its keys are counted, and
    only a document with a duplicate goes through the slow pass that names the key."""
    rng = random.Random(5)
    values = ["1", '"x: y"', '":x"', "[1, 2]", '{"n" : 2}']
    slow_passes = []
    real_loads = strict_json.json.loads

    def counted(*args: object, **kwargs: object) -> object:
        slow_passes.append(args)
        return real_loads(*args, **kwargs)

    monkeypatch.setattr(strict_json.json, "loads", counted)
    for _ in range(300):
        keys = [f"k{i}" for i in range(rng.randrange(1, 6))]
        members = [
            f'"{key}"{rng.choice([" ", "", chr(10)])}:{rng.choice([" ", ""])}{rng.choice(values)}'
            for key in keys
        ]
        unique = ("{" + ", ".join(members) + "}").encode()
        assert loads(unique) == orjson.loads(unique)
        duplicated = ("{" + ", ".join([*members, members[0]]) + "}").encode()
        with pytest.raises(JsonInputError, match="duplicate key 'k0'"):
            loads(duplicated)
    assert len(slow_passes) == 300  # the duplicated documents only


def test_a_duplicate_deeper_than_orjson_writes_is_still_refused() -> None:
    """The fastest check writes the parsed document again; orjson writes at most 255 levels."""
    deep = b"[" * 400 + b'{"a":1,"a":2}' + b"]" * 400
    with pytest.raises(JsonInputError, match="duplicate key 'a'"):
        loads(deep)
    assert loads(b"[" * 400 + b'{"a":1}' + b"]" * 400) is not None
