"""Check-run buttons: a click (`check_run` `requested_action`) runs the command it names.

The check run offers up to three `verb:<verb>` buttons (bot.handlers.proposals). A click
is authorised exactly like `/<word> <verb>` written by the clicker. When some proposal of
the PR lets the clicker take that step, the bot records the click in a comment carrying a
hidden `button` marker (clicker, verb, check run) and runs the command as that comment's:
replay reads the marker back as the clicker's command, so the decision stays re-derivable
from GitHub alone (bot.engine.authorize says why the marker can be trusted). A click
nobody may apply gets one reply saying why and changes nothing. The marker also makes a
click count once: a redelivery, or the same person clicking the same button on the same
check run again, finds the comment and does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re

from gidgethub import routing, sansio

from bot.check_output import ACTION_PREFIX
from bot.engine.authorize import Spoken, transition_for
from bot.engine.roles import normalize
from bot.github.comments import (
    code_span,
    marker_tag,
    quote_user_text,
)
from bot.github.shapes import Repository
from bot.handlers import permissions
from bot.handlers.commands import DONE, run_commands
from bot.handlers.context import HandlerContext
from bot.handlers.pr_state import (
    PullState,
    button_command,
    button_marker,
    load_config,
    load_pull_state,
    written,
)
from bot.handlers.proposals import check_pull_request, check_state
from bot.handlers.reply_budget import addressed
from bot.handlers.status_edit import NO_PROPOSAL, Outcome

router = routing.Router()
log = logging.getLogger(__name__)
VERB = re.compile(r"[a-z0-9-]{1,15}")  # what a button's identifier may name


@router.register("check_run", action="requested_action")
async def on_requested_action(event: sansio.Event, ctx: HandlerContext) -> None:
    """Run the clicked button's command for each pull request of the check run."""
    data = event.data
    identifier = str((data.get("requested_action") or {}).get("identifier") or "")
    verb = identifier.removeprefix(ACTION_PREFIX)
    login = str((data.get("sender") or {}).get("login") or "")
    run = data["check_run"]
    if not identifier.startswith(ACTION_PREFIX) or not login:
        log.info("ignoring requested_action %r by %r", identifier, login)
        return
    repo: Repository = data["repository"]
    for ref in run.get("pull_requests") or []:
        await click(ctx, repo, int(ref["number"]), login, verb, int(run["id"]))


async def _refusals(state: PullState, login: str, verb: str) -> list[str]:
    """Why `login` may not take `verb` on each proposal (empty: some proposal allows it)."""
    reasons: list[str] = []
    for pair in state.pairs:
        if pair.head is None:
            continue
        current = (await permissions.replay(state, pair.path)).status
        transition = transition_for(state.config, verb, current)
        if transition is None or transition.argument or transition.period:
            reasons.append(f"{code_span(pair.path)}: `{verb}` does not apply to its status.")
            continue
        grant = await permissions.can(state, login, transition, pair.path)
        if grant.granted:
            return []
        who = await permissions.who_can(state, transition, pair.path)
        reasons.append(f"{code_span(pair.path)}: {grant.reason}. {who}")
    return reasons or [NO_PROPOSAL]


async def click(
    ctx: HandlerContext, repo: Repository, number: int, login: str, verb: str, run_id: int
) -> None:
    """`login` clicked the `verb` button of check run `run_id` on pull request `number`."""
    result = await load_config(ctx, repo)
    if result.config is None or not VERB.fullmatch(verb):
        return
    name = repo["full_name"]
    pull = await ctx.github.pull(name, number)
    state = await load_pull_state(ctx, repo, pull, result.config, thread_needed=True)
    who = code_span("@" + normalize(login))
    command = button_command(result.config.command, verb)
    quoted = f"> {quote_user_text(command.raw)}"
    reasons = await _refusals(state, login, verb)
    if reasons:
        marker = f"refused-{button_marker(login, verb, run_id)}"
        now = ctx.clock()
        if not ctx.replies.allow(name, number, login, marker, state.thread, ctx.bot_login, now):
            log.info("no reply to %s on %s#%d: over the reply budget", login, name, number)
            return
        text = f"{addressed(login)}\n{quoted}\n\n{who} clicked {code_span(verb)}; not applied:"
        text += "\n\n" + "\n".join(f"- {reason}" for reason in reasons)
        await ctx.github.post_once(name, number, marker, text, ctx.bot_login, state.thread)
        return
    marker = button_marker(login, verb, run_id)
    if await ctx.github.find_comment(name, number, marker, ctx.bot_login, state.thread):
        return  # this click was recorded (and run) already
    body = f"{marker_tag(marker)}\n{quoted}\n\n{who} clicked {code_span(verb)} on the check run."
    made = await ctx.github.comment(name, number, body)
    state.thread.append(made)  # the delivery's thread: replay counts the click from it
    spoken = Spoken(login, (command,), int(made["id"]), *written(made))
    outcome = Outcome()
    after = await run_commands(ctx, repo, pull, spoken, [command], outcome)
    content = DONE[1] if outcome.refused else DONE[0]
    done = ctx.github.react(name, content=content, comment_id=int(made["id"]))
    if after is None or after.stale:
        fresh = await ctx.github.pull(name, number)
        await asyncio.gather(check_pull_request(ctx, repo, fresh), done)
    else:
        await asyncio.gather(check_state(after), done)
