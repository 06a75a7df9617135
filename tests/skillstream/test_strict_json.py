"""Strict JSON: duplicate keys are refused however the document is spelled.

The fast check (count of `":` against the parsed keys) must never let a duplicate through:
spaced colons, escaped quotes and nesting are the ways it could be fooled.
"""

from __future__ import annotations

import random

import orjson
import pytest

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
]
UNIQUE = [
    b'{"a":1,"b":2}',
    b'{"a" : 1 , "b" : {"a" : 2}}',
    b'{"s":"\\":\\":\\":","t":"a\\"b"}',
    b'{"a":[{"a":1},{"a":2}],"b":[]}',
    b'{"a":"\\u0022:"}',
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


def test_a_duplicate_deeper_than_orjson_writes_is_still_refused() -> None:
    """The fastest check writes the parsed document again; orjson writes at most 255 levels."""
    deep = b"[" * 400 + b'{"a":1,"a":2}' + b"]" * 400
    with pytest.raises(JsonInputError, match="duplicate key 'a'"):
        loads(deep)
    assert loads(b"[" * 400 + b'{"a":1}' + b"]" * 400) is not None
