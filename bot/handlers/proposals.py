"""Proposal pull requests: the check run, labels and the status comment (docs/design.md
B1, B5, B2).

Everything is derived again from GitHub on each run: the proposals' base and head versions,
the command history and the roles, so any instance after any restart concludes the same.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from gidgethub import routing, sansio

from bot.check_output import Decision, button_actions, check_output
from bot.engine.authorize import Replay, Verdict, quorum_for, transition_for
from bot.engine.validate import Report, validate_change
from bot.engine.verbs import registry
from bot.github.comments import code_span
from bot.github.labels import desired_labels, managed_labels
from bot.github.shapes import Pull, Repository
from bot.handlers import permissions
from bot.handlers.branch_edits import tend_branch
from bot.handlers.context import HandlerContext
from bot.handlers.decision_text import decision_lines, pending
from bot.handlers.period_text import period_status
from bot.handlers.pr_state import ProposalPair, PullState, load_config, load_pull_state

router = routing.Router()
log = logging.getLogger(__name__)

STATUS_MARKER = "status"
VERDICT_TEXT = {
    "unchanged": "unchanged",
    "authorised": "decided",
    "waiting": "waiting for a decision",
    "illegal": "not a legal transition",
}


async def check_pull_request(
    ctx: HandlerContext, repo: Repository, pull: Pull, *, rerun: bool = False
) -> None:
    """Validate the proposals `pull` touches; publish the check, labels and status comment.
    With `rerun` (a person asked for the check again) the check run is written even when
    its result has not changed."""
    result = await load_config(ctx, repo)
    if result.config is None:
        error = result.error.render() if result.error is not None else "unknown error"
        output = check_output(Report(), config_error=f"{result.repository}: {error}")
        await _publish(ctx, repo["full_name"], pull, output, rerun=rerun)
        return
    state = await load_pull_state(ctx, repo, pull, result.config)
    # The edits the process asks for on the branch come first: the check is of what they
    # leave (docs/design.md B3, B4; bot.handlers.branch_edits).
    await check_state(await tend_branch(state), rerun=rerun)


async def check_state(
    state: PullState, *, rerun: bool = False
) -> list[tuple[ProposalPair, Verdict, Replay]]:
    """The check, labels and status comment of a pull request already read; the verdicts
    they were made from (reconcile reads when a comment period ends from them)."""
    ctx, pull = state.ctx, state.pull
    report = validate_change(state.config, state.trees.head, state.trees.base, state.trees.changed)
    decisions = []
    moves: list[tuple[str, str]] = []  # (verb, target) legal next, for the buttons
    verbs = [v.name for v in registry(state.config) if v.kind == "transition"]
    sections: list[list[str]] = []  # the status comment's decisions under way (B2)
    verdicts = await permissions.verdicts(state)
    for pair, found, replayed in verdicts:
        step = await permissions.next_step(state, pair.path, replayed) if found == "waiting" else ""
        period = period_status(replayed, ctx.clock())
        decisions.append(
            Decision(pair.path, found, pair.base_status, pair.head_status, step, period)
        )
        sections.append(await _decisions(state, pair, replayed, found == "waiting"))
        for verb in verbs:
            transition = transition_for(state.config, verb, replayed.status)
            usable = transition is not None and not transition.argument and not transition.period
            if transition is not None and usable and all(t != transition.to for _, t in moves):
                moves.append((verb, transition.to))
    output = check_output(report, decisions=decisions, actions=button_actions(moves))
    steps = [_publish(ctx, state.repo, pull, output, rerun=rerun)]
    if state.pairs:
        steps += [_labels(state), _status_comment(state, decisions, sections, output.conclusion)]
    await asyncio.gather(*steps)  # independent writes: no need to wait for one another
    return verdicts


async def _publish(
    ctx: HandlerContext, repo: str, pull: Pull, output: Any, *, rerun: bool = False
) -> None:
    """The check run of the PR's head, one per head, updated in place (docs/design.md B1)."""
    sha = pull["head"]["sha"]
    if ctx.app_mode:
        run_id = await ctx.github.publish_check(repo, sha, output, rerun=rerun)
        log.info("check run %s on %s#%s: %s", run_id, repo, pull["number"], output.conclusion)
    else:
        await ctx.github.publish_status(repo, sha, output)


async def _labels(state: PullState) -> None:
    proposals = [
        (p.head.status, p.head.area)
        for p in state.pairs
        if p.head and p.head.status and state.config.status(p.head.status) is not None
    ]
    desired = desired_labels(state.config, proposals)
    managed = managed_labels(state.config)
    await state.ctx.github.sync_labels(state.repo, state.number, desired, managed, state.labels)


async def _decisions(
    state: PullState, pair: ProposalPair, replayed: Replay, waiting: bool
) -> list[str]:
    """The status comment's section on the decisions under way about `pair`: who of the
    voters each needs has voted, its concerns and its comment period (docs/design.md B2).
    Who may give the votes of a quorum that names nobody is asked only for those."""
    config, approvers = state.config, pair.approvers()
    items = pending(config, pair.path, replayed, pair.head_status, waiting)
    anyone: dict[str, str] = {}
    for item in items:
        quorum = quorum_for(item.transition, approvers)
        if not quorum.named and len(replayed.votes.get(item.transition.to, [])) < quorum.needed:
            anyone[item.transition.to] = await permissions.who_can(
                state, item.transition, pair.path
            )
    return decision_lines(config, items, replayed, approvers, state.ctx.clock(), anyone)


async def _status_comment(
    state: PullState, decisions: list[Decision], sections: list[list[str]], conclusion: str
) -> None:
    word = state.config.command
    lines = [
        f"**{state.config.kind} status** (kept up to date by kepbot; check: `{conclusion}`)",
        "",
        "| proposal | default branch | this PR | state |",
        "|---|---|---|---|",
    ]
    for d in decisions:
        base = code_span(d.base) if d.base else "new"
        head = code_span(d.head) if d.head else "—"
        lines.append(f"| {code_span(d.path)} | {base} | {head} | {VERDICT_TEXT[d.verdict]} |")
    shown = [section for section in sections if section]
    if shown:
        lines += ["", "**Decisions under way:**"]
        for section in shown:
            lines += ["", *section]
    steps = [d for d in decisions if d.next_step and d.next_step != d.period]
    if steps:
        lines += ["", "**Next:**", ""]
        lines += [f"- {code_span(d.path)}: {d.next_step}" for d in steps]
    lines += ["", f"Commands: `/{word} help`."]
    await state.ctx.github.upsert_comment(
        state.repo,
        state.number,
        STATUS_MARKER,
        "\n".join(lines),
        state.ctx.bot_login,
        state.thread,
    )


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="edited")
async def on_pull_request(event: sansio.Event, ctx: HandlerContext) -> None:
    pull: Pull = event.data["pull_request"]
    if pull.get("state") == "closed":
        return
    await check_pull_request(ctx, event.data["repository"], pull)


@router.register("check_run", action="rerequested")
@router.register("check_suite", action="rerequested")
async def on_rerequest(event: sansio.Event, ctx: HandlerContext) -> None:
    """A person asked for the check again: re-read each PR it belongs to and re-run it."""
    subject = event.data.get("check_run") or event.data.get("check_suite") or {}
    repo: Repository = event.data["repository"]
    pulls = subject.get("pull_requests") or []
    if not pulls:
        log.info("re-request for %s has no pull request (a fork's head?)", subject.get("head_sha"))
        return
    for ref in pulls:
        pull = await ctx.github.pull(str(repo["full_name"]), int(ref["number"]))
        await check_pull_request(ctx, repo, pull, rerun=True)
