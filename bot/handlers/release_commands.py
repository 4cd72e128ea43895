"""`/<command> track <milestone>` and `/<command> untrack` (docs/design.md B10): a proposal
opted in for a release, as the process records it.

Where the configuration has `tracking.opt-in` (the `kep` preset: the `lead-opted-in` label
and the milestone, given by the owning SIG's leads), the verbs work in a comment on the
proposal's tracking issue or on a pull request that changes the proposal (the proposal
as the default branch has it: a pull request cannot opt in what is not merged, and the
rights come from the default branch, docs/design.md I5). On a pull request they run with
every other command (bot.handlers.commands: the same claim, replay, reply and reactions);
on a tracking issue this module's router runs them the same way: claimed with 👀 (one
instance acts), refused with one reply per comment saying why and who can, marked 👍 or
👎; an edited comment runs only the commands it did not have, and only when its author
edited it; reconcile runs a claimed command whose outcome never came
(bot.handlers.tracking_drift).

`track v1.37` adds the opt-in label to the tracking issue, puts it in milestone `v1.37`
(created when missing) and records the opt-in in the bot's status comment there, so that
syncing the issue with the metadata keeps that milestone while the label stays. `untrack`
removes the label, takes the issue out of the opted-in milestone and records the opt-out.
The milestone argument is outside text: only a name `tracking.milestone-pattern` allows
(`v1.37`) is used, anything else is refused before any request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gidgethub import BadRequest, routing, sansio

from bot.engine.authorize import Spoken
from bot.engine.commands import Command, new_commands, parse_commands
from bot.engine.config import Config, LabelSpec, OptIn
from bot.engine.opt_in import RELEASE_VERBS, TRACK, alias_members, alias_name
from bot.engine.proposal import Proposal
from bot.engine.roles import normalize, role_fields, rule_for
from bot.engine.tracking_issue import milestone_name, wanted
from bot.github.comments import code_span, quote_user_text
from bot.github.shapes import Comment, Issue, Repository, is_bot, login_of
from bot.handlers.context import HandlerContext
from bot.handlers.links.targets import may_hold_command
from bot.handlers.reply_budget import addressed
from bot.handlers.status_edit import Turn, reply_key
from bot.handlers.tracking_issues import (
    OptRecord,
    find_status,
    load_at,
    milestone_title,
    proposal_of_issue,
    record_of,
    sync_issue,
)

__all__ = [
    "DONE",
    "opt",
    "opt_in_rule",
    "release_commands",
    "router",
    "run_issue_commands",
    "run_on_pull",
]

router = routing.Router()
log = logging.getLogger(__name__)

DONE = ("+1", "-1")
OPT_IN_COLOR = "0e8a16"


@dataclass(frozen=True)
class Decided:
    """What one command did: refused (with why and who can), or done."""

    refused: bool
    text: str = ""


def opt_in_rule(config: Config) -> OptIn | None:
    """The configuration's opt-in rule (None: the process has none)."""
    return config.tracking.opt_in if config.tracking is not None else None


async def _may_opt(
    ctx: HandlerContext, repo: Repository, config: Config, proposal: Proposal, login: str
) -> str | None:
    """None when `login` may opt `proposal` in or out; else who may (text for a reply)."""
    rule = opt_in_rule(config)
    assert rule is not None
    name, branch = str(repo["full_name"]), str(repo["default_branch"])
    who = normalize(login)
    alias = alias_name(rule, proposal.text_of("area"))
    members: list[str] | None = None
    if alias is not None:
        found = await ctx.github.file(name, rule.aliases_file, branch)
        text = found.data.decode("utf-8", "replace") if found is not None else None
        members = alias_members(text, alias)
        if members and who in members:
            return None
    people = {field: proposal.list_of(field) for field in role_fields(config)}
    for role in rule.roles:
        grant = await ctx.github.holds(
            ctx.directory,
            repo=name,
            default_branch=branch,
            login=login,
            role=role,
            rule=rule_for(config, role),
            metadata=people,
            path=proposal.path,
        )
        if grant.granted:
            return None
    parts = []
    if alias is not None:
        listed = ", ".join(code_span("@" + member) for member in (members or [])[:20])
        where = f"the members of {code_span(alias)} in {code_span(rule.aliases_file)}"
        parts.append(f"{where} ({listed or 'none listed'})")
    if rule.roles:
        parts.append("anyone holding the role " + ", ".join(code_span(r) for r in rule.roles))
    return "Only " + (" or ".join(parts) or "nobody") + " may opt this proposal in or out."


async def opt(
    ctx: HandlerContext,
    repo: Repository,
    config: Config,
    proposal: Proposal,
    login: str,
    command: Command,
) -> Decided:
    """Run `track`/`untrack` for `proposal` (its metadata from the default branch)."""
    rule = opt_in_rule(config)
    if rule is None:
        return Decided(True, "This process records no opt-in for a release.")
    word = config.command
    milestone = None
    if command.verb == TRACK:
        if not command.args:
            return Decided(True, f"`track` needs a milestone: `/{word} track v1.37`.")
        milestone = milestone_name(config, command.args[0])
        if milestone is None or len(command.args) > 1:
            shown = quote_user_text(" ".join(command.args), 40)
            return Decided(True, f"`{shown}` is no milestone name (like `v1.37`).")
    name = str(repo["full_name"])
    want = wanted(config, proposal, name)
    if want is None:
        return Decided(True, f"{code_span(proposal.path)} has no tracking issue.")
    refusal = await _may_opt(ctx, repo, config, proposal, login)
    if refusal is not None:
        return Decided(True, f"Not applied: {code_span('@' + normalize(login))} may not. {refusal}")
    try:
        issue = await ctx.github.issue(name, want.issue)
    except BadRequest as error:
        if error.status_code not in (404, 410):
            raise
        issue = None
    if issue is None or issue.get("pull_request"):
        return Decided(
            True, f"{name}#{want.issue} is no issue: the proposal has no tracking issue."
        )
    thread = await ctx.github.thread(name, want.issue)
    status = find_status(thread, ctx.bot_login)
    before = record_of(config, status.get("body") if status else None)
    label = LabelSpec(name=rule.label, color=OPT_IN_COLOR, description="opted in for a release")
    if milestone is not None:
        record = OptRecord(milestone, normalize(login), None)
        add: dict[str, LabelSpec] = {rule.label: label}
        remove: frozenset[str] = frozenset()
    else:
        left = before.opted_in or milestone_title(issue)
        record = OptRecord(None, None, milestone_name(config, left))
        add, remove = {}, frozenset({rule.label})
        if left is not None and milestone_title(issue) == left:
            await ctx.github.set_issue_milestone(name, want.issue, None)
            issue["milestone"] = None
    await sync_issue(
        ctx,
        repo,
        config,
        proposal,
        issue=issue,
        thread=thread,
        record=record,
        add=add,
        remove=remove,
    )
    return Decided(False)


async def run_on_pull(turn: Turn) -> None:
    """`track`/`untrack` on a pull request: for each proposal it changes that the default
    branch has (bot.handlers.commands runs this with the PR's other commands)."""
    state, command = turn.state, turn.command
    repository = state.repository or {
        "full_name": state.repo,
        "default_branch": state.default_branch,
    }
    merged = [pair for pair in state.pairs if pair.base is not None]
    if not merged:
        text = (
            f"`{command.verb}` opts in a merged {state.config.kind}: this pull request changes "
            "none. Give it on the proposal's tracking issue, or on a pull request that changes "
            "the merged proposal."
        )
        await turn.refuse(text)
        return
    for pair in merged:
        assert pair.base is not None
        decided = await opt(
            state.ctx, repository, state.config, pair.base, turn.spoken.login, command
        )
        if decided.refused:
            await turn.refuse(decided.text, reply_key(turn.key, pair.path))


async def _proposal_of(
    ctx: HandlerContext, repo: Repository, config: Config, number: int
) -> Proposal | None:
    name, branch = str(repo["full_name"]), str(repo["default_branch"])
    listing = await ctx.github.tree(name, branch)
    path = proposal_of_issue(config, listing.paths, number)
    return await load_at(ctx, name, config, path, listing.blobs) if path else None


async def run_issue_commands(
    ctx: HandlerContext,
    repo: Repository,
    config: Config,
    number: int,
    spoken: Spoken,
    commands: list[Command],
) -> bool:
    """Run the opt-in commands of one comment on issue `number` (already claimed); one
    reply for their refusals; True when one was refused."""
    name = str(repo["full_name"])
    proposal = await _proposal_of(ctx, repo, config, number)
    answers: list[str] = []
    for command in commands:
        if proposal is None:
            decided = Decided(True, f"#{number} is no {config.kind}'s tracking issue.")
        else:
            decided = await opt(ctx, repo, config, proposal, spoken.login, command)
        if decided.refused:
            answers.append(f"> {quote_user_text(command.raw)}\n\n{decided.text}")
    if answers:
        key = f"opt-c{spoken.comment_id or 'body'}"
        body = addressed(spoken.login) + "\n" + "\n\n---\n\n".join(dict.fromkeys(answers))
        await ctx.github.post_once(name, number, key, body, ctx.bot_login)
    return bool(answers)


def release_commands(commands: list[Command]) -> list[Command]:
    return [command for command in commands if command.verb in RELEASE_VERBS]


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
async def on_issue_comment(event: sansio.Event, ctx: HandlerContext) -> None:
    """Opt-in commands in a comment on an issue (pull requests: bot.handlers.commands)."""
    data = event.data
    issue: Issue = data["issue"]
    comment: Comment = data["comment"]
    repo: Repository = data["repository"]
    if issue.get("pull_request") or is_bot(comment.get("user")):
        return
    body = str(comment.get("body") or "")
    if not may_hold_command(body):
        return
    name, branch = str(repo["full_name"]), str(repo["default_branch"])
    config = (await ctx.github.config(name, branch, cache=ctx.config_cache)).config
    if config is None or opt_in_rule(config) is None:
        return
    login = login_of(comment.get("user"))
    if data["action"] == "edited":
        sender = str((data.get("sender") or {}).get("login") or "")
        if normalize(sender) != normalize(login):
            return  # a command is its writer's act (docs/design.md B2)
        before = str(((data.get("changes") or {}).get("body") or {}).get("from") or "")
        commands = release_commands(new_commands(before, body, config.command))
    else:
        commands = release_commands(parse_commands(body, config.command))
    if not commands:
        return
    comment_id, number = int(comment["id"]), int(issue["number"])
    created = data["action"] == "created"  # an edit's new commands: its comment is claimed
    if created and not await ctx.github.claim(name, comment_id=comment_id):
        log.info("%s#%s: opt-in commands of comment %s handled elsewhere", name, number, comment_id)
        return
    spoken = Spoken(login, tuple(commands), comment_id)
    refused = await run_issue_commands(ctx, repo, config, number, spoken, commands)
    await ctx.github.react(name, comment_id=comment_id, content=DONE[1] if refused else DONE[0])
