"""Whether someone holds a role (approver, reviewer, author...) and who does, from GitHub.

A `RoleRule` grants its role through any of: the users it lists, the logins in metadata
fields of the proposal (the caller passes them from the DEFAULT-branch version of the
proposal), the CODEOWNERS of the proposal's path on the default branch (a `@user` owner, or
an `@org/team` owner the person is an active member of), the teams it lists, or a
repository permission at least as strong as the one it names. They are tried in that order,
cheapest first, and the first that grants decides. Everything comes from the default branch
or from GitHub's account data, never from the pull request (docs/design.md I5). Whether an
author may approve their own proposal (`self_approval`) is the caller's decision.

Logins and teams appear in reasons as code spans by default, so a refusal reply does not
notify the people it names; pass `mention=True` for real @-mentions.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gidgethub.abc import GitHubAPI

from bot.engine.codeowners import Rule, is_team, rule_for
from bot.engine.config import RoleRule
from bot.engine.roles import Grant, at_least, login_of, normalize, one_of, role_noun, show
from bot.github.people import Directory

__all__ = ["Grant", "holds", "who_can"]

Metadata = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class _Where:
    """Where a role's facts live: the repository, its default branch, the proposal's path."""

    repo: str
    default_branch: str
    path: str | None


def _team(name: str) -> tuple[str, str] | None:
    org, _, slug = name.strip().lstrip("@").partition("/")
    return (org, slug) if org and slug else None


def _logins(entries: Sequence[str]) -> list[str]:
    found = (login_of(entry) for entry in entries)
    return list(dict.fromkeys(login for login in found if login is not None))


def _source(field: str, path: str | None) -> str:
    return f"{field} in {posixpath.basename(path)}" if path else f"{field} in the metadata"


async def _owners_rule(
    directory: Directory, gh: GitHubAPI, where: _Where, rule: RoleRule
) -> Rule | None:
    if not rule.codeowners or not where.path:
        return None
    text = await directory.codeowners(gh, where.repo, where.default_branch)
    return rule_for(text, where.path) if text is not None else None


async def _by_codeowners(
    directory: Directory, gh: GitHubAPI, owners: Rule, who: str, *, mention: bool
) -> str | None:
    """Why `who` owns the path by the CODEOWNERS line `owners` (users first), or None."""
    me = show(who, mention=mention)
    for owner in owners.owners:
        if owner.startswith("@") and not is_team(owner) and normalize(owner) == who:
            return f"{me} owns {owners.pattern} in CODEOWNERS"
    for owner in owners.owners:
        team = _team(owner) if is_team(owner) else None
        if team is not None and await directory.in_team(gh, *team, who):
            shown = show(owner, mention=mention)
            return f"{me} is in {shown}, an owner of {owners.pattern} in CODEOWNERS"
    return None


def _alternatives(
    rule: RoleRule, metadata: Metadata, owners: Rule | None, path: str | None, *, mention: bool
) -> list[str]:
    """Each way `rule` can be met, phrased for a person ("approvers in kep.yaml (@carol)")."""
    ways: list[str] = []
    if rule.users:
        ways.append(f"listed users ({', '.join(show(u, mention=mention) for u in rule.users)})")
    for field in rule.metadata:
        logins = _logins(metadata.get(field, ()))
        if logins:
            shown = ", ".join(show(login, mention=mention) for login in logins)
            ways.append(f"{_source(field, path)} ({shown})")
    if owners is not None:
        handles = [owner for owner in owners.owners if owner.startswith("@")]
        if handles:
            shown = ", ".join(show(owner, mention=mention) for owner in handles)
            ways.append(f"CODEOWNERS of {owners.pattern} ({shown})")
    ways.extend(f"team {show(team, mention=mention)}" for team in rule.teams)
    if rule.permission:
        ways.append(f"{rule.permission} permission")
    return ways


async def holds(
    directory: Directory,
    gh: GitHubAPI,
    *,
    repo: str,
    default_branch: str,
    login: str,
    role: str,
    rule: RoleRule | None,
    metadata: Metadata,
    path: str | None,
    mention: bool = False,
) -> Grant:
    """Whether `login` holds `role` by `rule`, with the reason.

    `metadata` maps logical fields (`approvers`, `authors`) to their entries in the
    default-branch version of the proposal; `path` is the proposal's metadata file (its
    CODEOWNERS are looked up on the default branch). A `rule` of None grants nobody.
    """
    who = normalize(login)
    me = show(who, mention=mention)
    if rule is None:
        return Grant(role, False, f"{me} is not {role_noun(role)}: no rule defines that role")
    if who in {normalize(user) for user in rule.users}:
        return Grant(role, True, f"{me} is listed as {role_noun(role)} in the configuration")
    for field in rule.metadata:
        if who in _logins(metadata.get(field, ())):
            return Grant(role, True, f"{me} is listed in {_source(field, path)}")
    where = _Where(repo, default_branch, path)
    owners = await _owners_rule(directory, gh, where, rule)
    if owners is not None:
        granted = await _by_codeowners(directory, gh, owners, who, mention=mention)
        if granted is not None:
            return Grant(role, True, granted)
    for name in rule.teams:
        team = _team(name)
        if team is not None and await directory.in_team(gh, *team, who):
            return Grant(role, True, f"{me} is a member of {show(name, mention=mention)}")
    if rule.permission:
        level = await directory.permission(gh, repo, who)
        if at_least(level, rule.permission):
            return Grant(role, True, f"{me} has {level} permission on {repo}")
    ways = _alternatives(rule, metadata, owners, path, mention=mention)
    if not ways:
        return Grant(role, False, f"{me} is not {role_noun(role)}: no rule grants that role here")
    return Grant(role, False, f"{me} is not {role_noun(role)}: needs one of {one_of(ways)}")


async def who_can(
    directory: Directory,
    gh: GitHubAPI,
    *,
    repo: str,
    default_branch: str,
    role: str,
    rule: RoleRule | None,
    metadata: Metadata,
    path: str | None,
    mention: bool = False,
) -> str:
    """A sentence naming who holds `role`: the listed people, teams and permission level.

    Collaborators who hold it only through their permission are not enumerated.
    """
    if rule is None:
        return f"Nobody can act as {role}: no rule defines that role."
    owners = await _owners_rule(directory, gh, _Where(repo, default_branch, path), rule)
    ways = _alternatives(rule, metadata, owners, path, mention=mention)
    if rule.permission:
        ways[-1] = f"anyone with {rule.permission} permission or higher"
    if not ways:
        return f"Nobody can act as {role} here: no rule grants that role."
    return f"Who can act as {role}: {one_of(ways)}."
