"""The value formats of the xAPI data model: IRIs, UUIDs, timestamps, durations, language tags.

Each `is_*` function answers one question about a string, fast (a precompiled regex and,
where a regex cannot say it, a little code). The validator names the rule; these only test.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone

# An absolute IRI (RFC 3987): a scheme, a colon and at least one character of an IRI
# reference; no whitespace, control characters or the characters RFC 3987 excludes.
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+\Z")
_ASCII_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[!#-;=?-\[\]_a-z~]+\Z")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}\Z")
_SHA2_HEX = re.compile(r"(?:[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})\Z")
# mailto: and one address: something@something, no whitespace, no second address.
_MAILTO = re.compile(r"mailto:[^@\s,;<>]+@[^@\s,;<>]+\Z")
# An Internet media type (RFC 6838 names), optionally with parameters.
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,126}"
    r"(?:\s*;\s*[A-Za-z0-9!#$&^_.+\-]+=(?:[^;\"\s]+|\"[^\"]*\"))*\s*\Z"
)
_VERSION_1 = re.compile(r"1\.0(?:\.\d+)?\Z")
_VERSION_2 = re.compile(r"(?:1|2)\.0(?:\.\d+)?\Z")

# ISO 8601 / RFC 3339 date-time with the extended format xAPI requires. The zone is
# optional (ISO 8601; xAPI 1.0.3 and 2.0 say SHOULD), and `-00:00`, `-0000`, `-00` are
# refused (xAPI Data 4.5: a Timestamp MUST NOT use them).
_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    r"(?P<zone>Z|z|[+\-]\d{2}(?::?\d{2})?)?\Z"
)
_NEGATIVE_ZERO = re.compile(r"-00(?::?00)?\Z")

# ISO 8601:2004 4.4.3.2 durations (PnYnMnDTnHnMnS, with a decimal fraction allowed on the
# lowest-order component given) and the week form PnW on its own.
_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+(?:[.,]\d+)?)W"
    r"|(?=\d|T\d)(?:(?P<years>\d+(?:[.,]\d+)?)Y)?(?:(?P<months>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?)\Z"
)
DURATION_UNITS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")

# RFC 5646 language tags (section 2.1 ABNF), case-insensitive.
_ALNUM = "[A-Za-z0-9]"
_LANGTAG = (
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4}|[A-Za-z]{5,8})"  # language (+extlang)
    r"(?:-[A-Za-z]{4})?"  # script
    r"(?:-(?:[A-Za-z]{2}|\d{3}))?"  # region
    rf"(?:-(?:{_ALNUM}{{5,8}}|\d{_ALNUM}{{3}}))*"  # variants
    rf"(?:-[0-9A-WYZa-wyz](?:-{_ALNUM}{{2,8}})+)*"  # extensions
    rf"(?:-[xX](?:-{_ALNUM}{{1,8}})+)?"  # private use
)
_PRIVATE_USE = rf"[xX](?:-{_ALNUM}{{1,8}})+"
_GRANDFATHERED = (
    "en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|"
    "i-pwn|i-tao|i-tay|i-tsu|sgn-BE-FR|sgn-BE-NL|sgn-CH-DE|art-lojban|cel-gaulish|no-bok|"
    "no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang"
)
_LANGUAGE_TAG = re.compile(
    rf"(?:{_LANGTAG}|{_PRIVATE_USE}|(?i:{_GRANDFATHERED}))\Z", flags=re.ASCII
)


# Streams repeat the same IRIs (verbs, activity types, extension keys, course ids) and
# language tags over and over: remember the valid ones, bounded.
_KNOWN_IRIS: set[str] = set()
_KNOWN_TAGS: set[str] = set()
_KNOWN_LIMIT = 50_000


def is_iri(value: str) -> bool:
    if value in _KNOWN_IRIS:
        return True
    if _IRI.match(value) is None:
        return False
    if len(_KNOWN_IRIS) >= _KNOWN_LIMIT:
        _KNOWN_IRIS.clear()
    _KNOWN_IRIS.add(value)
    return True


def is_uri(value: str) -> bool:
    """An absolute URI: an IRI of ASCII characters only."""
    return _ASCII_URI.match(value) is not None


def is_uuid(value: str) -> bool:
    return _UUID.match(value) is not None


def is_sha1_hex(value: str) -> bool:
    return _SHA1_HEX.match(value) is not None


def is_sha2_hex(value: str) -> bool:
    return _SHA2_HEX.match(value) is not None


def is_mailto(value: str) -> bool:
    return _MAILTO.match(value) is not None


def is_media_type(value: str) -> bool:
    return _MEDIA_TYPE.match(value) is not None


def is_language_tag(value: str) -> bool:
    if value in _KNOWN_TAGS:
        return True
    if _LANGUAGE_TAG.match(value) is None:
        return False
    if len(_KNOWN_TAGS) >= _KNOWN_LIMIT:
        _KNOWN_TAGS.clear()
    _KNOWN_TAGS.add(value)
    return True


def is_version(value: str, accept_2_0: bool) -> bool:
    return (_VERSION_2 if accept_2_0 else _VERSION_1).match(value) is not None


def parse_timestamp(value: str) -> datetime:
    """An xAPI timestamp as an aware datetime (a zone-less value is taken as UTC)."""
    problem = timestamp_problem(value)
    if problem is not None:
        raise ValueError(f"{value!r} {problem}")
    match = _TIMESTAMP.match(value)
    assert match is not None
    zone = match["zone"] or "Z"
    if zone in ("Z", "z"):
        offset = timedelta(0)
    else:
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        offset = -offset if zone[0] == "-" else offset
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    year, month, day = (int(part) for part in match["date"].split("-"))
    return datetime(
        year,
        month,
        day,
        int(match["hour"]),
        int(match["minute"]),
        int(match["second"] or 0),
        int(fraction),
        tzinfo=timezone(offset),
    )


def timestamp_problem(value: str) -> str | None:
    """None for a valid xAPI timestamp, else what is wrong with it."""
    match = _TIMESTAMP.match(value)
    if match is None:
        return "must be an RFC 3339 / ISO 8601 date-time such as 2026-07-01T10:00:00Z"
    zone = match["zone"]
    if zone and _NEGATIVE_ZERO.match(zone):
        return "must not use the offset -00:00 (xAPI Data 4.5)"
    try:
        datetime.fromisoformat(value)  # fast path (C) for the common shapes
        return None
    except ValueError:
        pass
    year, month, day = (int(part) for part in match["date"].split("-"))
    try:
        datetime(
            year,
            month,
            day,
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
        )
    except ValueError:
        return "is not a real date and time"
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        if int(digits[:2]) > 23 or (len(digits) > 2 and int(digits[2:]) > 59):
            return "has an offset out of range"
    return None


@functools.lru_cache(maxsize=4096)  # sources repeat the same few durations
def is_duration(value: str) -> bool:
    if _DURATION.match(value) is None:
        return False
    return ("." not in value and "," not in value) or duration_parts(value) is not None


def duration_parts(value: str) -> dict[str, float] | None:
    """The components of an ISO 8601 duration, or None when it is not one."""
    match = _DURATION.match(value)
    if match is None:
        return None
    given = [(unit, amount) for unit, amount in match.groupdict().items() if amount is not None]
    # Only the lowest-order component given may carry a decimal fraction.
    if any(("." in amount or "," in amount) for _, amount in given[:-1]):
        return None
    return {unit: float(amount.replace(",", ".")) for unit, amount in given}
