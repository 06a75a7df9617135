"""Strict JSON for statements from outside: one clear reason for every way input can be bad.

xAPI statements are JSON (RFC 8259). orjson parses them fast and already refuses invalid
UTF-8, lone surrogates, NaN/Infinity and nesting deeper than 1024 levels; it silently keeps
the last of duplicate keys, which RFC 8259 leaves undefined and an LRS must not guess at,
so a second, hook-based pass names the duplicated key and where it is.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

MAX_DEPTH = 1024  # orjson's limit; deeper documents are refused before anything else runs
_CONSTANT = re.compile(r"(?<![\w\"])(NaN|-?Infinity)(?![\w\"])")


class JsonInputError(ValueError):
    """The bytes are not one strict JSON document; the message says why and where."""


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


_WHITE_SPACE = b" \t\n\r"


def _surely_unique_keys(raw: bytes, value: dict[str, Any] | list[Any]) -> bool:
    """True when the bytes cannot hold a duplicate key: a fast check, a few microseconds.

    Bytes equal to the parsed document written out again (compact JSON as orjson writes it,
    which is what `simulate` and many producers send) hold one entry per key. Otherwise,
    when the bytes hold no backslash, no string holds a quote, and `":` can be counted:
    in the written document it occurs once per parsed key, plus once per string that starts
    with a colon; in the bytes with all white space removed, once per key written (a key
    ends in a quote, white space perhaps, and a colon), plus once per string that starts
    with a colon after its white space. Every string of the parsed document is one of the
    bytes', so the second count is never the smaller, and the two are equal only when no
    key was dropped. Escapes, strings that start with white space and a colon, and
    documents too deep to write again are left to the full pass, which names the key.
    """
    try:
        written = orjson.dumps(value)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes
        return False
    if written == raw:
        return True
    if b"\\" in raw:
        return False
    return raw.translate(None, _WHITE_SPACE).count(b'":') == written.count(b'":')


def _reason(data: bytes, error: orjson.JSONDecodeError) -> str:
    message = str(error)
    if "not valid UTF-8" in message:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            return f"invalid UTF-8 at byte {bad.start}"
        return "invalid UTF-8"
    if "depth limit" in message:
        return f"nested deeper than {MAX_DEPTH} levels"
    if "infinity" in message:
        return f"a number out of range: {message}"
    if "expected a JSON value" in message or "no digit after sign" in message:
        position = max(0, getattr(error, "pos", 0) - 1)
        window = data[position : position + 12].decode("utf-8", "replace")
        constant = _CONSTANT.search(window)
        if constant:
            return f"{constant.group(1)} is not a JSON number (char {position + constant.start()})"
    return f"malformed JSON: {message}"


def loads(data: bytes | str) -> Any:
    """The document, or JsonInputError naming what is wrong with it."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise JsonInputError(_reason(raw, error)) from None
    if isinstance(value, dict | list) and not _surely_unique_keys(raw, value):
        try:
            json.loads(raw, object_pairs_hook=_no_duplicates)
        except _DuplicateKey as duplicate:
            raise JsonInputError(
                f"duplicate key {duplicate.key!r} in one object (RFC 8259 names must be unique)"
            ) from None
        except RecursionError:
            raise JsonInputError(f"nested deeper than {MAX_DEPTH} levels") from None
    return value
