"""Learner identity: canonical Inverse Functional Identifiers and salted learner ids.

docs/design.md §2: `learner_id` = lowercase hex SHA-256 of (salt + canonical IFI), where the
canonical IFI is `mbox` lowercased (with `mailto:`), `mbox_sha1sum` as given, `openid` as
given, and `account` as `homePage|name`.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")


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
