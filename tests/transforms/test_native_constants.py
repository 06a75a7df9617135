"""The compiled normaliser's profile constants are the Python normaliser's: the Rust sources
(transforms/native/src) hold copies of the extension IRIs, the verb and activity type it
recognises, the namespace of derived statement ids, the keys left out of the content hash,
the pseudonyms' homePage and the validator's interaction types, and these tests hold each copy
equal to its Python home. They read the sources, so they run where Rust is absent too."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from skillstream.xapi import identity, profile, statements, validate

SOURCES = Path(__file__).resolve().parents[2] / "transforms" / "native" / "src"


def rust_constant(name: str) -> str:
    """The value text of `const NAME: TYPE = VALUE;` in any of the Rust sources."""
    pattern = re.compile(rf"\bconst {name}: [^=]+= (.+?);", re.DOTALL)
    found = [
        m.group(1)
        for path in sorted(SOURCES.glob("*.rs"))
        for m in [pattern.search(path.read_text())]
        if m
    ]
    assert len(found) == 1, f"const {name} found {len(found)} times in {SOURCES}"
    return found[0]


def rust_strings(name: str) -> list[str]:
    return re.findall(r'"([^"]*)"', rust_constant(name))


def rust_bytes(name: str) -> bytes:
    return bytes(int(b, 16) for b in re.findall(r"0x([0-9a-fA-F]{2})", rust_constant(name)))


@pytest.mark.parametrize(
    ("name", "python"),
    [
        ("PSEUDONYM_HOME_PAGE", [identity.PSEUDONYM_HOME_PAGE]),
        ("COURSE_TYPE", [profile.COURSE_TYPE]),
        ("EXT_SKILL", [profile.EXT_SKILL]),
        ("VOIDED_VERB", [profile.VOIDED_VERB]),
        # in the order of the cohort, org, team and role columns
        ("EXT_ATTRIBUTES", list(profile.EXT_ATTRIBUTES.values())),
        ("CONTENT_EXCLUDED", list(statements._NOT_CONTENT)),
        ("IFI_KEYS", list(identity.IFI_KEYS)),
        ("INTERACTION_TYPES", list(validate.INTERACTION_TYPES)),
    ],
)
def test_a_rust_constant_is_its_python_value(name: str, python: list[str]) -> None:
    assert rust_strings(name) == python


def test_derived_ids_are_in_the_python_namespace() -> None:
    assert uuid.UUID(bytes=rust_bytes("NAMESPACE")) == statements._ID_NAMESPACE
