"""Learner identity: canonical Inverse Functional Identifiers and salted learner ids.

docs/design.md §2: `learner_id` = lowercase hex SHA-256 of (salt + canonical IFI), where the
canonical IFI is `mbox` lowercased (with `mailto:`), `mbox_sha1sum` as given, `openid` as
given, and `account` as `homePage|name`.

A stored statement names people only by that id: `pseudonymised_statement` puts it in
place of every Inverse Functional Identifier, in every role (actor, Group members, object,
SubStatement, instructor, team, contextAgents, contextGroups, authority), and drops every
Agent's and Group's `name`; `scrubbed_payload` does the same, as far as it can be read, to an
event that is quarantined. The pseudonym is the learner id itself, so `skillstream forget`
finds a person in every role by it, and a roster the user holds re-identifies it locally.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

import orjson

IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
PSEUDONYM_HOME_PAGE = "urn:skillstream:learner"
REMOVED = "[removed]"  # an identifier too malformed to pseudonymise
_LEARNER_ID = re.compile(r"[0-9a-f]{64}")
# An email address, with or without `mailto:`, as it may appear in any text (a domain with a
# dot: the validator's `mailto:name@host` example stays readable).
_EMAIL = re.compile(r"(?:mailto:)?[\w.!#$%&'*+/=?^`{}~-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)


class IdentityError(ValueError):
    """An actor or roster entry that does not name exactly one learner."""


def canonical_ifi(agent: Any) -> str:
    """The canonical IFI of an Agent (or identified Group) object."""
    if not isinstance(agent, dict):
        raise IdentityError("actor: must be an object")
    present = [key for key in IFI_KEYS if key in agent]
    if len(present) != 1:
        raise IdentityError(
            f"actor: must have exactly one of {', '.join(IFI_KEYS)} (found {len(present)})"
        )
    key = present[0]
    value = agent[key]
    if key == "account":
        if (
            not isinstance(value, dict)
            or not isinstance(value.get("homePage"), str)
            or not isinstance(value.get("name"), str)
        ):
            raise IdentityError("actor.account: must have string homePage and name")
        return f"{value['homePage']}|{value['name']}"
    if not isinstance(value, str):
        raise IdentityError(f"actor.{key}: must be a string")
    return value.lower() if key == "mbox" else value


def roster_ifi(learner: str) -> str:
    """The canonical IFI of a roster `learner` cell: an email (or mailto: IRI), or homePage|name."""
    value = learner.strip()
    if not value:
        raise IdentityError("learner: is empty")
    if "|" in value:
        home_page, _, name = value.partition("|")
        if not home_page or not name:
            raise IdentityError(f"learner: {value!r} must be homePage|name")
        return value
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    if "@" not in value:
        raise IdentityError(f"learner: {value!r} is neither an email nor homePage|name")
    return f"mailto:{value}".lower()


@functools.lru_cache(maxsize=65536)  # a stream names the same learners again and again
def learner_id(ifi: str, salt: str) -> str:
    return hashlib.sha256((salt + ifi).encode("utf-8")).hexdigest()


def agent_learner_id(agent: Any, salt: str) -> str:
    """The learner id of an Agent or Group. An agent already pseudonymised (an account of
    PSEUDONYM_HOME_PAGE named by a learner id: a dead letter replayed, a statement stored
    before) keeps its id, so pseudonymising again changes nothing. An anonymous Group is one
    unit, named by its members' ids together: the statement does not say what each did."""
    if not isinstance(agent, dict):
        raise IdentityError("actor: must be an object")
    account = agent.get("account")
    if (
        isinstance(account, dict)
        and account.get("homePage") == PSEUDONYM_HOME_PAGE
        and isinstance(account.get("name"), str)
        and _LEARNER_ID.fullmatch(account["name"])
        and not any(key in agent for key in IFI_KEYS if key != "account")
    ):
        return str(account["name"])
    if agent.get("objectType") == "Group" and not any(key in agent for key in IFI_KEYS):
        members = agent.get("member")
        if not isinstance(members, list) or not members:
            raise IdentityError("actor: an anonymous Group must list its members")
        member_ids = sorted({agent_learner_id(member, salt) for member in members})
        # spaces and no `|`: no canonical IFI (an IRI, hex, or homePage|name) reads like this
        return learner_id("anonymous group " + ",".join(member_ids), salt)
    return learner_id(canonical_ifi(agent), salt)


def pseudonym_account(learner: str) -> dict[str, str]:
    return {"homePage": PSEUDONYM_HOME_PAGE, "name": learner}


def pseudonymous_agent(agent: dict[str, Any], salt: str) -> dict[str, Any]:
    """A valid Agent or Group as stored: its objectType, the learner id of its IFI as an
    account, its members likewise; no name, no IFI."""
    stored: dict[str, Any] = {"objectType": agent.get("objectType", "Agent")}
    if any(key in agent for key in IFI_KEYS):
        stored["account"] = pseudonym_account(agent_learner_id(agent, salt))
    if isinstance(agent.get("member"), list):
        stored["member"] = [pseudonymous_agent(member, salt) for member in agent["member"]]
    return stored


def pseudonymised_statement(statement: dict[str, Any], salt: str) -> dict[str, Any]:
    """A valid statement as stored: every Agent and Group `pseudonymous_agent`, its statement
    ids (its own, a StatementRef's) lowercase; the rest, and the order of keys, as given."""
    return _scrubbed_statement(statement, lambda agent: pseudonymous_agent(agent, salt))


def scrubbed_payload(payload: bytes, salt: str) -> str:
    """A quarantined event's text without a recognisable name or email. JSON keeps its shape:
    agents where a statement has them lose their names and have each identifier replaced by
    its learner id, and any email left anywhere (a misplaced agent, free text) becomes the
    learner id of that mbox. Text that is not JSON can only have its emails replaced."""
    try:
        document = orjson.loads(payload)
        if isinstance(document, dict):
            document = _scrubbed_statement(document, lambda agent: _scrubbed_agent(agent, salt))
        return orjson.dumps(_scrubbed_strings(document, salt)).decode()
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):  # nested too deep
        return scrubbed_text(payload.decode("utf-8", errors="replace"), salt)


def scrubbed_text(text: str, salt: str) -> str:
    """`text` with each email address (or mailto: IRI) replaced by the learner id of that mbox."""
    return _EMAIL.sub(lambda found: learner_id(roster_ifi(found[0]), salt), text)


Scrub = Callable[[Any], Any]


def _scrubbed_statement(statement: dict[str, Any], agent: Scrub) -> dict[str, Any]:
    """The statement with `agent` applied to every Agent or Group in it (also in a
    SubStatement) and its statement ids lowercase. Tolerates any shape: what is not where a
    statement has it is left as it is."""
    stored = dict(statement)
    if isinstance(stored.get("id"), str):
        stored["id"] = stored["id"].lower()
    for role in ("actor", "authority"):
        if isinstance(stored.get(role), dict):
            stored[role] = agent(stored[role])
    target = stored.get("object")
    if isinstance(target, dict):
        kind = target.get("objectType")
        if kind in ("Agent", "Group"):
            stored["object"] = agent(target)
        elif kind == "SubStatement":
            stored["object"] = _scrubbed_statement(target, agent)
        elif kind == "StatementRef":
            stored["object"] = _lowercase_id(target)
    if isinstance(stored.get("context"), dict):
        stored["context"] = _scrubbed_context(stored["context"], agent)
    return stored


def _scrubbed_context(context: dict[str, Any], agent: Scrub) -> dict[str, Any]:
    stored = dict(context)
    for role in ("instructor", "team"):
        if isinstance(stored.get(role), dict):
            stored[role] = agent(stored[role])
    for key, member in (("contextAgents", "agent"), ("contextGroups", "group")):
        if isinstance(stored.get(key), list):
            stored[key] = [
                {**entry, member: agent(entry[member])}
                if isinstance(entry, dict) and isinstance(entry.get(member), dict)
                else entry
                for entry in stored[key]
            ]
    if isinstance(stored.get("statement"), dict):
        stored["statement"] = _lowercase_id(stored["statement"])
    return stored


def _lowercase_id(reference: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(reference.get("id"), str):
        return reference
    return {**reference, "id": reference["id"].lower()}


def _scrubbed_agent(agent: dict[str, Any], salt: str) -> dict[str, Any]:
    """An Agent or Group of an invalid event: its shape kept (what made it invalid shows), its
    name dropped. Its one identifier becomes the pseudonymous account, as in a stored
    statement (forget reads it); of several, each becomes the learner id it would have."""
    identifiers = sum(key in agent for key in IFI_KEYS)
    stored: dict[str, Any] = {}
    for key, value in agent.items():
        if key == "name":
            continue
        if key in IFI_KEYS and identifiers == 1:
            stored["account"] = pseudonym_account(_loose_learner(key, value, salt))
        elif key in IFI_KEYS:
            stored[key] = _loose_learner(key, value, salt)
        elif key == "member" and isinstance(value, list):
            stored[key] = [_scrubbed_agent(m, salt) if isinstance(m, dict) else m for m in value]
        else:
            stored[key] = value
    return stored


def _loose_learner(key: str, value: Any, salt: str) -> str:
    """The learner id an identifier would have if it were well formed (an mbox without
    `mailto:` as the email it names), or REMOVED when it is not even text."""
    try:
        if key == "account":
            return learner_id(canonical_ifi({"account": value}), salt)
        if key == "mbox" and isinstance(value, str):
            return learner_id(roster_ifi(value), salt)
    except IdentityError:
        return REMOVED
    return learner_id(value, salt) if isinstance(value, str) else REMOVED


def _scrubbed_strings(value: Any, salt: str) -> Any:
    """`value` with `scrubbed_text` applied to every string and key in it."""
    if isinstance(value, str):
        return scrubbed_text(value, salt)
    if isinstance(value, list):
        return [_scrubbed_strings(item, salt) for item in value]
    if isinstance(value, dict):
        return {scrubbed_text(k, salt): _scrubbed_strings(v, salt) for k, v in value.items()}
    return value
