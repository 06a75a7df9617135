"""Statements with attachment data: `multipart/mixed` requests (xAPI Communication 1.5.2)
and signed statements (Data 2.6).

The first part holds the statement(s) as JSON; every other part is the data of one
attachment (`Content-Transfer-Encoding: binary`), named by its `X-Experience-API-Hash`
(the attachment's `sha2`). Each part must
belong to an attachment and hash to what it claims; each attachment without a `fileUrl`
needs its part. A signature attachment is a JWS (RS256/384/512) whose payload is the
statement as signed: it must parse, name an allowed algorithm, match the statement up to
what the LRS may set, and verify against the certificate in its `x5c` header when given.
The data itself goes to a content-addressed store, never to Kafka.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
HASH_HEADER = "x-experience-api-hash"
_SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
# Properties an LRS sets or may change; a signature's payload may differ in them.
_SET_BY_THE_LRS = ("id", "authority", "stored", "timestamp", "version")
_BOUNDARY = re.compile(r';\s*boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}\Z")


class BadAttachments(ValueError):
    """The request's attachments are not acceptable; `reasons` say which and why."""

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reasons = reasons or []


@dataclass(frozen=True)
class Part:
    headers: dict[str, str]  # names in lower case
    body: bytes


def split_multipart(body: bytes, content_type: str) -> tuple[bytes, list[Part]]:
    """The statements part's JSON and the attachment parts of a multipart/mixed body."""
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise BadAttachments("the multipart Content-Type names no boundary")
    delimiter = b"\r\n--" + (match.group(1) or match.group(2)).encode("latin-1")
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise BadAttachments("the multipart body does not hold parts between its boundaries")
    parts = [_part(section, number) for number, section in enumerate(sections[1:-1])]
    first = parts[0]
    if not first.headers.get("content-type", "").lower().startswith("application/json"):
        raise BadAttachments("the first part must hold the statements as application/json")
    return first.body, parts[1:]


def _part(section: bytes, number: int) -> Part:
    _padding, newline, rest = section.partition(b"\r\n")  # the delimiter line's end
    head, blank, body = (b"\r\n" + rest).partition(b"\r\n\r\n")
    if not newline or not blank:
        raise BadAttachments(f"part {number}: headers are not followed by a blank line")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise BadAttachments(f"part {number}: header line {line[:60]!r} has no colon")
        headers[name.strip().lower()] = value.strip()
    return Part(headers, body)


def match_parts(statements: list[dict[str, Any]], parts: list[Part]) -> dict[str, bytes]:
    """Every attachment's data by sha2, after checking parts against attachments (both
    ways) and each part's bytes against its hash."""
    reasons: list[str] = []
    data: dict[str, bytes] = {}
    for number, part in enumerate(parts, 1):
        declared = part.headers.get(HASH_HEADER, "").lower()
        encoding = part.headers.get("content-transfer-encoding", "").lower()
        if encoding != "binary":
            reasons.append(f"part {number}: Content-Transfer-Encoding must be binary")
        elif not declared:
            reasons.append(f"part {number}: the X-Experience-API-Hash header is missing")
        elif hashlib.sha256(part.body).hexdigest() != declared:
            reasons.append(f"part {number}: its bytes do not hash to {declared}")
        else:
            data[declared] = part.body
    wanted = set()
    for index, statement in enumerate(statements):
        for position, attachment in enumerate(statement.get("attachments") or []):
            sha2 = str(attachment.get("sha2", "")).lower()
            wanted.add(sha2)
            if "fileUrl" not in attachment and sha2 not in data:
                reasons.append(
                    f"[{index}].attachments[{position}]: no part holds its data (sha2 {sha2})"
                )
    reasons += [
        f"a part with hash {sha2} belongs to no attachment" for sha2 in data if sha2 not in wanted
    ]
    if reasons:
        raise BadAttachments("the attachments do not match the parts", reasons)
    return data


def check_signatures(statements: list[dict[str, Any]], data: dict[str, bytes]) -> None:
    """BadAttachments unless every signature attachment holds a valid JWS of its statement."""
    reasons = []
    for index, statement in enumerate(statements):
        for position, attachment in enumerate(statement.get("attachments") or []):
            if attachment.get("usageType") != SIGNATURE_USAGE:
                continue
            where = f"[{index}].attachments[{position}]"
            if attachment.get("contentType") != "application/octet-stream":
                reasons.append(f"{where}.contentType: a signature is application/octet-stream")
                continue
            jws = data.get(str(attachment.get("sha2", "")).lower())
            if jws is None:
                reasons.append(f"{where}: a signature must be sent as a part, not by fileUrl")
                continue
            problem = _signature_problem(jws, statement)
            if problem:
                reasons.append(f"{where}: {problem}")
    if reasons:
        raise BadAttachments("invalid statement signature(s)", reasons)


def _signature_problem(jws: bytes, statement: dict[str, Any]) -> str | None:
    try:
        header_b64, payload_b64, signature_b64 = jws.strip().split(b".")
        header = orjson.loads(_b64url(header_b64))
        payload = orjson.loads(_b64url(payload_b64))
        signature = _b64url(signature_b64)
    except (ValueError, binascii.Error):
        return "not a JWS in compact serialization with a JSON header and payload"
    if not isinstance(header, dict) or header.get("alg") not in _SIGNATURE_HASHES:
        return "the JWS algorithm must be RS256, RS384 or RS512"
    if not isinstance(payload, dict) or _signed_part(payload) != _signed_part(statement):
        return "the JWS payload is not this statement"
    if "x5c" in header:
        return _certificate_problem(header, header_b64 + b"." + payload_b64, signature)
    return None


def _certificate_problem(header: dict[str, Any], signed: bytes, signature: bytes) -> str | None:
    try:
        der = base64.b64decode(header["x5c"][0], validate=True)
        key = x509.load_der_x509_certificate(der).public_key()
    except (ValueError, TypeError, KeyError, IndexError, binascii.Error):
        return "the x5c header does not hold an X.509 certificate"
    if not isinstance(key, rsa.RSAPublicKey):
        return "the x5c certificate does not hold an RSA key"
    try:
        key.verify(signature, signed, padding.PKCS1v15(), _SIGNATURE_HASHES[header["alg"]]())
    except InvalidSignature:
        return "the JWS signature does not verify against the x5c certificate"
    return None


def _b64url(text: bytes) -> bytes:
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def _signed_part(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement without what the LRS sets and without its signature attachments."""
    kept = {k: v for k, v in statement.items() if k not in _SET_BY_THE_LRS}
    attachments = [
        a for a in kept.pop("attachments", None) or [] if a.get("usageType") != SIGNATURE_USAGE
    ]
    if attachments:
        kept["attachments"] = attachments
    return kept


def without_signatures(
    statements: list[dict[str, Any]], data: dict[str, bytes]
) -> dict[str, bytes]:
    """The attachment data worth keeping: a signature's JWS carries the statement as its client
    sent it, names and emails included, which the warehouse never holds (docs/privacy.md); once
    verified it has served its purpose, so it is not stored."""
    signatures = {
        str(attachment.get("sha2", "")).lower()
        for statement in statements
        for attachment in statement.get("attachments") or []
        if attachment.get("usageType") == SIGNATURE_USAGE
    }
    return {sha2: content for sha2, content in data.items() if sha2 not in signatures}


class AttachmentStore:
    """Attachment data under `directory`/<sha256>: written once, atomically; or dropped."""

    def __init__(self, directory: Path, keep: bool) -> None:
        self.directory = directory
        self.keep = keep

    def put(self, data: dict[str, bytes]) -> None:
        if not self.keep:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        for sha2, content in data.items():
            if not _SHA256_HEX.match(sha2):
                raise ValueError(f"{sha2!r} is not a SHA-256 hex digest")
            target = self.directory / sha2
            if target.exists():
                continue
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".incoming-")
            with os.fdopen(handle, "wb") as file:
                file.write(content)
            os.replace(temporary, target)
