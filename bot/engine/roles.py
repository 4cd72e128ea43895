"""Pure helpers for roles: logins, repository permission levels, and the wording of grants.

Whether someone holds a role needs GitHub (team membership, permission, CODEOWNERS on the
default branch): that evaluation lives in `bot.github.roles`. This module only normalises the
facts it works with and phrases the outcome.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.engine.config import Config, RoleRule
from bot.engine.formats.base import Value

__all__ = [
    "AUTHOR",
    "PERMISSIONS",
    "Grant",
    "at_least",
    "login_of",
    "normalize",
    "one_of",
    "person_entry",
    "rank",
    "role_fields",
    "role_noun",
    "rule_for",
    "show",
]

AUTHOR = "author"
# GitHub's repository roles from weakest to strongest; "none" is no access at all.
PERMISSIONS = ("none", "read", "triage", "write", "maintain", "admin")
_RANK = {name: index for index, name in enumerate(PERMISSIONS)}
_HANDLE = re.compile(r"@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?)")
_BARE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?$")
_PLACEHOLDERS = frozenset({"tbd", "tba", "todo", "none", "na", "n-a", "unknown"})


@dataclass(frozen=True)
class Grant:
    """Whether `role` is held, and why (which rule granted, or what would have)."""

    role: str
    granted: bool
    reason: str


def normalize(login: str) -> str:
    """A login as compared: no leading `@`, lower-case (GitHub logins ignore case)."""
    return login.strip().lstrip("@").lower()


def login_of(entry: str) -> str | None:
    """The GitHub login in a metadata entry (`@alice`, `alice`, `Alice A. (@alice)`), or None.

    Teams (`@org/team`), names without a handle and placeholders (`TBD`) give None.
    """
    text = entry.strip()
    handle = _HANDLE.search(text)
    if handle is not None:
        login = handle.group(1) if text[handle.end() : handle.end() + 1] != "/" else None
    else:
        login = text if _BARE.match(text) else None
    if login is None or login.lower() in _PLACEHOLDERS:
        return None
    return login.lower()


def person_entry(value: Value) -> str | None:
    """The text a person in a people list (`authors`, `approvers`, ...) stands for.

    A string is itself (`"@alice"`, `TBD`). KEP-1 as first written also writes a person as
    a mapping with `name`, `github`, `email` and `slack`: that is its `github` login; without
    one, its `name` when that carries an `@handle` (KEP-1's own `- name: "@timothysc"`); a
    plain name is no login, so it stands for nothing. `login_of` reads the login from the
    result as from any entry.
    """
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return None
    github = value.get("github")
    if github is not None and isinstance(github.value, str) and github.value.strip():
        return github.value.strip()
    name = value.get("name")
    if name is not None and isinstance(name.value, str) and _HANDLE.search(name.value):
        return name.value.strip()
    return None


def rank(permission: str | None) -> int:
    """The strength of a repository role; unknown (custom) names and None rank as "none"."""
    return _RANK.get((permission or "none").lower(), 0)


def at_least(permission: str | None, required: str) -> bool:
    """Whether `permission` is `required` or stronger (triage < write < maintain < admin)."""
    return rank(permission) >= rank(required) > 0


def rule_for(config: Config, role: str) -> RoleRule | None:
    """The configured rule of `role`; `author` is the proposal's authors unless configured."""
    rule = config.roles.get(role)
    if rule is None and role == AUTHOR:
        return RoleRule(metadata=["authors"])
    return rule


def role_fields(config: Config) -> tuple[str, ...]:
    """The logical fields whose people can hold a role: `approvers`, `reviewers`, `authors`
    (the default author rule), then every other field a configured role reads (kep-2017's
    `editor`). The metadata a role check is given must hold each of them."""
    named = ["approvers", "reviewers", "authors"]
    named += [field for rule in config.roles.values() for field in rule.metadata]
    return tuple(dict.fromkeys(named))


def role_noun(role: str) -> str:
    """`an approver`, `a reviewer`, `an author`."""
    return f"{'an' if role[:1].lower() in 'aeiou' else 'a'} {role}"


def show(login_or_team: str, *, mention: bool) -> str:
    """A login or team for a comment: `@x` notifies it; a code span shows it without notifying."""
    handle = "@" + login_or_team.strip().lstrip("@")
    return handle if mention else f"`{handle}`"


def one_of(items: Iterable[str], conjunction: str = "or") -> str:
    """`a`, `a or b`, `a, b, or c`."""
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    if len(listed) == 2:
        return f"{listed[0]} {conjunction} {listed[1]}"
    return f"{', '.join(listed[:-1])}, {conjunction} {listed[-1]}"
