"""An implementation pull request's links, derived afresh from GitHub on each event.

Nothing is stored: a PR's links are the references in its title and description
(`bot.engine.references`), resolved against each proposals repository it may link to,
then its `link`/`unlink` commands replayed in order (the description's first, then the
comments'). A command counts when its author wrote the PR or is an approver of the
proposal (roles from the proposals repository's default branch, never from a PR).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.engine.authorize import Spoken
from bot.engine.commands import Command
from bot.engine.references import Reference, argument_references, find_references
from bot.engine.roles import Grant, normalize, role_fields, rule_for
from bot.engine.verbs import LINK_VERBS
from bot.github.comments import Thread
from bot.github.shapes import Pull
from bot.handlers.context import HandlerContext
from bot.handlers.links.resolver import Found, Resolver
from bot.handlers.links.targets import Target
from bot.handlers.pr_state import command_history

__all__ = ["APPROVER", "Links", "derive_links", "first_found", "may_link", "role_metadata"]

APPROVER = "approver"


@dataclass
class Links:
    """What an implementation PR links to, and the references that name no proposal."""

    targets: list[Target]
    found: list[Found] = field(default_factory=list)
    unknown: list[tuple[Reference, str]] = field(default_factory=list)
    resolvers: dict[str, Resolver] = field(default_factory=dict)  # may be shared by several

    def resolver(self, ctx: HandlerContext, target: Target) -> Resolver:
        if target.repo not in self.resolvers:
            self.resolvers[target.repo] = Resolver(ctx, target)
        return self.resolvers[target.repo]


async def first_found(
    ctx: HandlerContext, links: Links, targets: Sequence[Target], reference: Reference
) -> Found | str | None:
    """The first target that resolves `reference`; else the first reason; None: not about any."""
    reason: str | None = None
    for target in targets:
        if not reference.about(target.repo):
            continue
        result = await links.resolver(ctx, target).resolve(reference)
        if isinstance(result, Found):
            return result
        reason = reason or result
    return reason


def role_metadata(found: Found) -> dict[str, list[str]]:
    """The proposal's people from the default branch; never a proposal PR's own metadata."""
    if found.pull is not None:
        return {}
    return {name: found.proposal.list_of(name) for name in role_fields(found.target.config)}


async def may_link(ctx: HandlerContext, pull: Pull, login: str, found: Found) -> Grant:
    """Whether `login` may link or unlink the PR to `found`: its author or an approver."""
    who = normalize(login)
    if who == normalize(str(pull["user"]["login"])):
        return Grant("author", True, f"`{who}` wrote this pull request")
    target = found.target
    return await ctx.github.holds(
        ctx.directory,
        repo=target.repo,
        default_branch=target.default_branch,
        login=who,
        role=APPROVER,
        rule=rule_for(target.config, APPROVER),
        metadata=role_metadata(found),
        path=found.path,
    )


def _history(
    ctx: HandlerContext, pull: Pull, thread: Thread, targets: Sequence[Target]
) -> list[tuple[Spoken, Command, list[Target]]]:
    """The link commands of the PR in order (body first), each with the targets of its word."""
    by_word: dict[str, list[Target]] = {}
    for target in targets:
        by_word.setdefault(target.config.command, []).append(target)
    found: list[tuple[int, int, Spoken, Command, list[Target]]] = []
    for word, chosen in by_word.items():
        for spoken in command_history(ctx, pull, thread, word):
            for command in spoken.commands:
                if command.verb in LINK_VERBS:
                    found.append((spoken.comment_id or 0, command.line, spoken, command, chosen))
    found.sort(key=lambda item: item[:2])
    return [(spoken, command, chosen) for _, _, spoken, command, chosen in found]


async def derive_links(
    ctx: HandlerContext,
    pull: Pull,
    thread: Thread,
    targets: list[Target],
    resolvers: dict[str, Resolver] | None = None,
) -> Links:
    """The PR's links: references in its title and body, then its commands replayed.

    `resolvers`: resolvers (by proposals repository) that already read what they need,
    shared by the PRs refreshed together.
    """
    links = Links(targets) if resolvers is None else Links(targets, resolvers=resolvers)
    current: dict[tuple[str, str], Found] = {}
    texts = (str(pull.get("title") or ""), str(pull.get("body") or ""))
    for target in targets:
        for text in texts:
            for reference in find_references(text, target.config):
                if not reference.about(target.repo):
                    continue
                result = await links.resolver(ctx, target).resolve(reference)
                if isinstance(result, Found):
                    current.setdefault(result.key, result)
                elif all(reference.text != seen.text for seen, _ in links.unknown):
                    links.unknown.append((reference, result))
    for spoken, command, chosen in _history(ctx, pull, thread, targets):
        for reference in argument_references(command.args, chosen[0].config):
            named = await first_found(ctx, links, chosen, reference)
            if not isinstance(named, Found):
                continue
            if not (await may_link(ctx, pull, spoken.login, named)).granted:
                continue
            if command.verb == "link":
                current.setdefault(named.key, named)
            else:
                current.pop(named.key, None)
    links.found = list(current.values())
    return links
