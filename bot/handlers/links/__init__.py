"""Implementation pull requests linked to their proposals, across repositories (docs/design.md B6):
the router and the event entry points.

An implementation PR names its proposals in its title or description (`KEP-1234`,
`owner/repo#N`, a URL to the proposal) or with `/<command> link REF` and `unlink REF`; it
gets the link label, one link comment and the check `kepbot/link`, and each proposal keeps
one tracking comment listing its implementation PRs. Nothing is stored outside GitHub:
links are derived afresh on each event, and references survive numbering (a placeholder
path or the proposal's PR finds the numbered proposal by its slug).

The work is split by concern:

- `targets`: which repositories hold proposals, which PRs are implementation PRs;
- `resolver`: what a reference names, where a proposal's tracking comment lives;
- `derive`: an implementation PR's links (references, then commands replayed);
- `feedback`: the link comment, label, check and tracking rows of one PR;
- `proposals`: the proposal side (open links of a proposal, refresh after a merge);
- `commands`: the `link`/`unlink`/`help` commands;
- `bot.handlers.memory`: what is remembered per installation and per event, and for how long;
- `bot.github.tracking`: the tracking comment's format and its writes.

The public names other handlers use are re-exported here.
"""

from __future__ import annotations

from gidgethub import routing, sansio

from bot.engine.authorize import Spoken
from bot.engine.roles import normalize
from bot.github.shapes import Comment, Issue, Pull, Repository, is_bot, login_of
from bot.handlers.authorship import record_body
from bot.handlers.context import HandlerContext
from bot.handlers.links.commands import parse_link_commands, run_link_commands
from bot.handlers.links.derive import Links
from bot.handlers.links.feedback import CHECK_NAME, refresh_pull
from bot.handlers.links.proposals import refresh_linked, unmerged_links
from bot.handlers.links.resolver import Found
from bot.handlers.links.targets import (
    Target,
    fetch_pull,
    is_implementation_pull,
    is_proposal_pull,
    may_hold_command,
    own_target,
    targets_for,
)

__all__ = [
    "CHECK_NAME",
    "Found",
    "Links",
    "Target",
    "is_implementation_pull",
    "refresh_linked",
    "refresh_pull",
    "router",
    "targets_for",
    "unmerged_links",
]

router = routing.Router()


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
async def on_comment(event: sansio.Event, ctx: HandlerContext) -> None:
    """Link commands in a comment on an implementation PR (nothing read for other comments)."""
    data = event.data
    issue: Issue = data["issue"]
    comment: Comment = data["comment"]
    repo: Repository = data["repository"]
    if not issue.get("pull_request") or is_bot(comment.get("user")):
        return
    body = comment.get("body") or ""
    if not may_hold_command(body):
        return
    targets = await targets_for(ctx, repo)
    if not targets:
        return
    before = None
    if data["action"] == "edited":
        sender = str((data.get("sender") or {}).get("login") or "")
        if normalize(sender) != normalize(login_of(comment.get("user"))):
            return  # someone else's edit runs nothing (bot.handlers.commands says so)
        before = ((data.get("changes") or {}).get("body") or {}).get("from") or ""
    found = parse_link_commands(targets, body, before)
    number = int(issue["number"])
    if not found or not await is_implementation_pull(ctx, repo, number):
        return
    pull = await fetch_pull(ctx, str(repo["full_name"]), number)
    commands = tuple(command for command, _ in found)
    spoken = Spoken(login_of(comment["user"]), commands, int(comment["id"]))
    await run_link_commands(ctx, repo, pull, spoken, found, claim_first=data["action"] == "created")


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="edited")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="closed")
async def on_pull_request(event: sansio.Event, ctx: HandlerContext) -> None:
    """Implementation PRs: links, label, comment, check, tracking. Merged proposal PRs:
    their implementation PRs are refreshed."""
    data = event.data
    pull: Pull = data["pull_request"]
    repo: Repository = data["repository"]
    number = int(data["number"])
    own = await own_target(ctx, repo)
    head, base = str(pull["head"]["sha"]), str(pull["base"]["ref"])
    if own is not None and await is_proposal_pull(ctx, own, number, head, base):
        return  # a merged one's are refreshed by bot.handlers.merge, once numbered
    targets = await targets_for(ctx, repo)
    if not targets:
        return
    if data["action"] == "opened" and not is_bot(pull.get("user")):
        found = parse_link_commands(targets, pull.get("body") or "", None)
        if found:
            # Replay counts a description only through the bot's record of it when opened.
            keyed = [(chosen[0].config.command, command) for command, chosen in found]
            await record_body(ctx, str(repo["full_name"]), pull, keyed)
            spoken = Spoken(str(pull["user"]["login"]), tuple(c for c, _ in found), None)
            await run_link_commands(ctx, repo, pull, spoken, found, claim_first=True)
            return
    await refresh_pull(ctx, repo, pull)
