"""`/<command> link REF`, `unlink REF` (and `help`) on implementation pull requests.

A command is claimed (so one instance runs it), answered where it cannot apply (a
proposal-PR verb, no reference, a reference that names no proposal, someone without the
right: only the PR's author and the proposal's approvers may link or unlink), and marked
👍 or 👎. A comment's answers are one reply, within its author's reply budget
(bot.handlers.reply_budget). Accepted commands take effect through `refresh_pull`, which
replays every link command of the PR in order.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.engine.authorize import Spoken
from bot.engine.commands import Command, new_commands, parse_commands
from bot.engine.config import Config
from bot.engine.references import argument_references
from bot.engine.roles import rule_for
from bot.engine.verbs import LINK_VERBS
from bot.github.comments import quote_user_text
from bot.github.shapes import Pull, Repository
from bot.handlers.context import HandlerContext
from bot.handlers.links.derive import APPROVER, Links, first_found, may_link, role_metadata
from bot.handlers.links.feedback import refresh_pull
from bot.handlers.links.resolver import Found, Resolver
from bot.handlers.links.targets import Target
from bot.handlers.reply_budget import addressed

__all__ = ["parse_link_commands", "run_command", "run_link_commands"]

log = logging.getLogger(__name__)


# What one comment's commands answer, by reply key (the first answer per key stays); the
# comment gets them as one reply.
Answers = dict[str, str]


def _reply(answers: Answers, key: str, command: Command, text: str) -> None:
    answers.setdefault(key, f"> {quote_user_text(command.raw)}\n\n{text}")


async def _post_answers(
    ctx: HandlerContext, repo: str, number: int, spoken: Spoken, answers: Answers
) -> None:
    """One reply for the comment, within its author's reply budget on this pull request."""
    sections = list(dict.fromkeys(answers.values()))
    if not sections:
        return
    key = f"link-c{spoken.comment_id or 'body'}"
    thread = await ctx.github.comments(repo, number)
    if not ctx.replies.allow(repo, number, spoken.login, key, thread, ctx.bot_login, ctx.clock()):
        log.info("no reply to %s on %s#%d: over the reply budget", spoken.login, repo, number)
        return
    body = addressed(spoken.login) + "\n" + "\n\n---\n\n".join(sections)
    await ctx.github.post_once(repo, number, key, body, ctx.bot_login, thread)


def _help(config: Config) -> str:
    word, prefix = config.command, config.implementations.prefix
    rows = [f"| `/{word} {verb} <ref>` | {text} |" for verb, text in LINK_VERBS.items()]
    return "\n".join(
        [
            "On an implementation pull request:",
            "",
            "| command | what it does |",
            "| --- | --- |",
            *rows,
            "",
            f"`<ref>` is a proposal number (`{prefix}-1234`), `owner/repo#N` (the proposal's pull "
            "request or tracking issue) or a link to the proposal. The pull request's author "
            "and the proposal's approvers may run them.",
        ]
    )


async def run_command(
    ctx: HandlerContext,
    repo: str,
    pull: Pull,
    spoken: Spoken,
    command: Command,
    targets: list[Target],
    answers: Answers,
    resolvers: dict[str, Resolver] | None = None,
) -> bool:
    """Answer one command on an implementation PR (into `answers`); True when it was refused.

    Accepted `link`/`unlink` commands take effect through `refresh_pull`, which replays them.
    `resolvers` (by proposals repository) are shared with that refresh.
    """
    key = f"link-c{spoken.comment_id or 'body'}-{command.line}"
    word = targets[0].config.command
    if command.verb == "help":
        _reply(answers, key, command, _help(targets[0].config))
        return False
    if command.verb == "status":
        return False
    if command.verb not in LINK_VERBS:
        text = (
            f"`{quote_user_text(command.verb, 40)}` applies to proposal pull requests. This is "
            f"an implementation pull request: use `/{word} link <ref>` or `/{word} unlink <ref>`."
        )
        _reply(answers, key, command, text)
        return True
    references = argument_references(command.args, targets[0].config)
    if not references:
        example = f"{targets[0].config.implementations.prefix}-1234"
        text = f"Name the proposal: `/{word} {command.verb} <ref>`, e.g. `{example}`."
        _reply(answers, key, command, text)
        return True
    links = Links(targets) if resolvers is None else Links(targets, resolvers=resolvers)
    refused = False
    for index, reference in enumerate(references):
        result = await first_found(ctx, links, targets, reference)
        where = f"{key}-{index}"
        if not isinstance(result, Found):
            refused = True
            why = result or "it names none of the proposals repositories this one links to"
            text = f"Not linked: {quote_user_text(reference.text, 120)} names no proposal: {why}."
            _reply(answers, where, command, text)
            continue
        grant = await may_link(ctx, pull, spoken.login, result)
        if not grant.granted:
            refused = True
            who = await ctx.github.who_can(
                ctx.directory,
                repo=result.target.repo,
                default_branch=result.target.default_branch,
                role=APPROVER,
                rule=rule_for(result.target.config, APPROVER),
                metadata=role_metadata(result),
                path=result.path,
            )
            text = (
                f"Not applied: {grant.reason}. The pull request's author and the approvers of "
                f"{result.label} may {command.verb} it. {who}"
            )
            _reply(answers, where, command, text)
    return refused


async def run_link_commands(
    ctx: HandlerContext,
    repo: Repository,
    pull: Pull,
    spoken: Spoken,
    found: list[tuple[Command, list[Target]]],
    *,
    claim_first: bool,
) -> None:
    """Claim (unless told not to), answer each command, mark the outcome, then refresh."""
    name = str(repo["full_name"])
    target: dict[str, Any] = (
        {"comment_id": spoken.comment_id} if spoken.comment_id else {"number": pull["number"]}
    )
    if claim_first and not await ctx.github.claim(name, **target):
        log.info("link commands of %s already handled elsewhere", target)
        return
    refused, resolvers, answers = False, dict[str, Resolver](), Answers()
    for command, targets in found:
        ran = await run_command(ctx, name, pull, spoken, command, targets, answers, resolvers)
        refused = ran or refused
    await _post_answers(ctx, name, int(pull["number"]), spoken, answers)
    await ctx.github.react(name, content="-1" if refused else "+1", **target)
    await refresh_pull(ctx, repo, pull, resolvers=resolvers)


def parse_link_commands(
    targets: list[Target], body: str, before: str | None
) -> list[tuple[Command, list[Target]]]:
    """The commands of `body` for each command word of `targets` (with `before`, an edited
    comment's earlier text: only the commands the edit added), in the order written."""
    by_word: dict[str, list[Target]] = {}
    for target in targets:
        by_word.setdefault(target.config.command, []).append(target)
    found = []
    for word, chosen in by_word.items():
        parsed = (
            new_commands(before, body, word) if before is not None else parse_commands(body, word)
        )
        found += [(command, chosen) for command in parsed]
    return sorted(found, key=lambda item: item[0].line)
