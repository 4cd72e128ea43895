"""Numbers at merge and the proposal index (docs/design.md B4, B7), in one commit on the
base branch.

This module owns the entry points. On `pull_request` closed with `merged`, the delivery's
PR says what was merged (its merge commit and base branch; it is read again only when the
payload lacks them) and the configuration comes from the default branch; a `Numbering` job
(bot.handlers.numbering_job) then numbers every proposal the PR touched that still carries
a placeholder number and refreshes the index, in one commit. When the base branch refuses
the bot (protection), the change goes to a follow-up PR instead, and the original PR says
so (bot.handlers.numbering_report). With `numbering.when: accept`, `accept_numbering` is
the job that numbers on the PR's head branch, in the accepting command's one commit.

Cost (benchmarks/budget.py, "merge"): what the job reads before writing is read at once —
the PR's file list, the merge commit's tree (the first plan assumes the base branch is
still at the merge commit and the branch is read beside it to check), the reserved
numbers and the PR's comments for the report — and files come by blob sha from the
client's cache, where the PR's check left them. Then: reserve, tree, commit, ref, comment.
The branch's listing as committed is shared with the rest of the delivery
(`pr_state.committed_listing`), so the links refreshed after the merge read no tree.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from gidgethub import BadRequest, routing, sansio

from bot.engine.numbering import format_number
from bot.engine.renumber import named_numbers
from bot.github.pull_request import PullFiles, pull_at
from bot.github.repo import BranchProtected, Expected
from bot.github.shapes import Pull, Repository
from bot.handlers import links
from bot.handlers.context import HandlerContext
from bot.handlers.links.targets import pull_files_once
from bot.handlers.numbering_job import Numbering, Outcome
from bot.handlers.numbering_report import follow_up, report
from bot.handlers.pr_state import comment_count, committed_listing, read_thread

__all__ = ["accept_numbering", "assign_on_accept", "number_merged_pull", "router"]

router = routing.Router()
log = logging.getLogger(__name__)


async def number_merged_pull(
    ctx: HandlerContext, repo: Repository, number: int, pull: Pull | None = None
) -> Outcome | None:
    """Number the proposals of the merged PR `number` and refresh the index (B4, B7).

    `pull`, the PR as the delivery gave it, is read again only when it does not say that it
    merged and with which commit."""
    name, github = repo["full_name"], ctx.github
    if pull is None or not pull.get("merged") or not pull.get("merge_commit_sha"):
        pull = await ctx.github.pull(name, number)
    if not pull.get("merged") or not pull.get("merge_commit_sha"):
        log.info("%s#%s is not merged according to the API; nothing to do", name, number)
        return None
    base = str(pull["base"]["ref"])
    if base != repo["default_branch"]:
        log.info("%s#%s merged into %s, not the default branch", name, number, base)
        return None
    result = await github.config(name, repo["default_branch"], cache=ctx.config_cache)
    if result.config is None:
        return None
    config = result.config
    # Read beside the job's first snapshot: the comments the report is checked against.
    thread = asyncio.ensure_future(read_thread(ctx, name, number, comment_count(pull)))
    files = asyncio.ensure_future(pull_files_once(ctx, name, number, pull_at(pull)))
    job = Numbering(
        ctx.github,
        name,
        config,
        pull,
        _changed(files),
        holder=str(pull["merge_commit_sha"]),
        number_now=config.numbering.when in ("merge", "open"),  # open: what it left
        history_of=base,
    )
    files.add_done_callback(lambda done: _prefetch(job, done))
    message = f"Assign proposal numbers and refresh the index after #{number}"
    expected = Expected(str(pull["merge_commit_sha"]))
    try:
        outcome = job.outcome(await job.commit(name, base, message, expected), base)
    except BranchProtected as refusal:
        log.info("%s: %s; opening a follow-up PR", name, refusal.message)
        outcome = await follow_up(job, config, repo, base, message)
    else:
        if job.committed is not None:
            committed_listing(ctx, name, base, job.committed)
    log.info(
        "%s#%s merged: commit %s, numbers %s, problems %s",
        name,
        number,
        outcome.commit,
        sorted(outcome.numbers.values()),
        sorted(outcome.problems),
    )
    # The numbers comment does not wait for the job's tidying (unused reservations given
    # back, the history mark moved: docs/design.md I1).
    comments = await thread
    await asyncio.gather(
        job.give_back(outcome), report(ctx, config, repo, number, outcome, comments)
    )
    return outcome


async def _changed(files: Awaitable[PullFiles]) -> list[str]:
    return (await files).changed


def _prefetch(job: Numbering, files: asyncio.Future[PullFiles]) -> None:
    """Once the PR's file list is in: a PR that adds files may add a proposal to number, so
    list the reserved numbers now rather than after the plan asks for them."""
    if not files.cancelled() and files.exception() is None and files.result().added:
        job.prefetch_reservations()


@router.register("pull_request", action="closed")
async def on_closed(event: sansio.Event, ctx: HandlerContext) -> None:
    pull: Pull = event.data["pull_request"]
    if not pull.get("merged"):
        return
    repo: Repository = event.data["repository"]
    number = int(event.data["number"])
    try:
        await number_merged_pull(ctx, repo, number, pull)
    finally:
        # The handlers of one event run in no set order, so the implementation PRs that
        # link to this one are refreshed here (not by bot.handlers.links), once its
        # proposals carry their numbers, or as they are if numbering failed.
        await links.refresh_linked(ctx, repo, number)


async def accept_numbering(
    ctx: HandlerContext, repo: Repository, pull: Pull, paths: list[str]
) -> Numbering | None:
    """The numbering job of the proposals at `paths`, accepted on the PR's head branch
    (`numbering.when: accept`); None when the configuration is invalid. The caller plans it
    into a commit (`Numbering.plan`: alone in `assign_on_accept`, with the accepting status
    edit in bot.handlers.status_edit) and gives back what it reserved and did not use.
    `next` numbers are reserved through `refs/kepbot/numbers/<N>`, so two accepts at once
    get different numbers."""
    name, github = repo["full_name"], ctx.github
    result = await github.config(name, repo["default_branch"], cache=ctx.config_cache)
    if result.config is None or not paths:
        return None
    config = result.config
    base_paths = await github.paths(name, repo["default_branch"])
    return Numbering(
        ctx.github,
        name,
        config,
        pull,
        list(paths),
        holder=str(pull["head"]["sha"]),
        number_now=True,
        reuse_owned=False,
        only=paths[0] if len(paths) == 1 else None,
        extra_used=named_numbers(config, base_paths),
    )


async def assign_on_accept(
    ctx: HandlerContext, repo: Repository, pull: Pull, proposal_path: str
) -> str | None:
    """Number the proposal at `proposal_path` on the PR's head branch, in a commit of its own.

    Returns the proposal's number (padded as in its name), whether assigned now or earlier;
    None when it cannot be numbered (missing, no tracking issue, a refused write: the reason
    is logged).
    """
    job = await accept_numbering(ctx, repo, pull, [proposal_path])
    if job is None:
        return None
    name, config = repo["full_name"], job.config
    fork = pull["head"]["repo"]
    if fork is None:  # the repository of the head branch was deleted: nothing to commit to
        log.warning(
            "%s#%s: cannot number %s: no head repository", name, pull["number"], proposal_path
        )
        await job.give_back(Outcome())
        return None
    head_repo, head = str(fork["full_name"]), str(pull["head"]["ref"])
    message = f"Assign the proposal number ({proposal_path})"
    try:
        outcome = job.outcome(await job.commit(head_repo, head, message), head)
    except (BranchProtected, BadRequest) as error:
        log.warning("%s#%s: cannot number %s: %s", name, pull["number"], proposal_path, error)
        await job.give_back(Outcome())
        return None
    await job.give_back(outcome)
    if outcome.numbers:
        return format_number(config, next(iter(outcome.numbers.values())))
    if job.problems:
        log.info("%s#%s: %s", name, pull["number"], job.problems)
    return job.existing.get(proposal_path)
