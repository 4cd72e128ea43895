"""Slash commands in pull request comments (and a PR's body when it is opened).

The behaviours are docs/design.md B2 and B3.

A command is handled once however many deliveries or instances see it: the first to
react with 👀 on the comment owns it (GitHub answers 201 to the first reaction and 200 to
the same reaction again), and the metadata edit it makes is a no-op when the proposal is
already where the command asks. A refusal changes nothing and is answered saying why and
who can; a transition edits only the status (and last-updated) lines on the PR's branch
with a conditional write, or, on a fork the bot cannot write to, is posted as a
suggestion. Whatever one comment's commands answer is one reply, within the commenter's
reply budget (bot.handlers.reply_budget). A command counts only as its writer's: an edit
by someone other than the comment's author runs nothing (bot.handlers.authorship).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from typing import Any

from gidgethub import BadRequest, routing, sansio

from bot.engine.authorize import (
    Spoken,
    Step,
    is_dry_run,
    may_undo,
    transition_for,
    undoable,
    without_dry_run,
)
from bot.engine.commands import Command, parse_commands
from bot.engine.config import Config, Transition
from bot.engine.opt_in import RELEASE_VERBS
from bot.engine.process import next_statuses
from bot.engine.proposal import document_path
from bot.engine.roles import normalize
from bot.engine.verbs import PERIOD_VERBS, UNDO, closest, has_periods, help_text, resolve
from bot.github.comments import code_span, fenced, quote_user_text
from bot.github.repo import (
    BranchProtected,
    Expected,
    Listing,
    RepoConflict,
    Snapshot,
)
from bot.github.shapes import Comment, Issue, Pull, Repository, is_bot, login_of
from bot.handlers import links, permissions
from bot.handlers.authorship import edit_digest, record_body, see_body_edit, see_comment_edit
from bot.handlers.context import HandlerContext
from bot.handlers.links.targets import may_hold_command, take_pull
from bot.handlers.merge import accept_numbering
from bot.handlers.period_text import needs_period
from bot.handlers.periods import complete_periods, run_period_command
from bot.handlers.pr_state import (
    PullState,
    load_config,
    load_pull_state,
    record_write,
    written,
)
from bot.handlers.proposals import check_pull_request, check_state
from bot.handlers.release_commands import opt_in_rule, run_on_pull
from bot.handlers.status_edit import (
    NO_PROPOSAL,
    Move,
    Outcome,
    Turn,
    editor,
    moves_of,
    post_answers,
    reply,
    reply_key,
    unified_diff,
    write_statuses,
)

router = routing.Router()
log = logging.getLogger(__name__)

INFO_VERBS = {"help", "status", "explain"}
LOGIN = re.compile(r"@?[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
# The outcome reactions that mark a comment's commands as handled (reconcile looks for them).
DONE = ("+1", "-1")
LINK_VERBS = {"link", "unlink"}


def _is_transition_verb(config: Config, verb: str) -> bool:
    return bool(resolve(config, verb, None))


async def run_commands(
    ctx: HandlerContext,
    repo: Repository,
    pull: Pull,
    spoken: Spoken,
    commands: list[Command],
    outcome: Outcome,
) -> PullState | None:
    """Handle `commands` (already claimed) and post what they answer as one reply; the PR as
    it stands after them, or None when the repository's config is invalid."""
    state = await read_state(ctx, repo, pull)
    if state is not None:
        state.answers = {}
        await apply_commands(state, spoken, commands, outcome)
        await post_answers(state, spoken.login, reply_marker(spoken))
    return state


async def read_state(ctx: HandlerContext, repo: Repository, pull: Pull) -> PullState | None:
    """What the commands on `pull` decide from; None when the repository's config is invalid."""
    result = await load_config(ctx, repo)
    if result.config is None:
        return None
    return await load_pull_state(ctx, repo, pull, result.config, thread_needed=True)


async def apply_commands(
    state: PullState, spoken: Spoken, commands: list[Command], outcome: Outcome
) -> None:
    """Run `commands` (already claimed) on the PR `state` holds; `state` follows their writes."""
    earlier = _history_before(state.history, spoken)
    key = f"c{spoken.comment_id or 'body'}"
    for command in commands:
        await _run_one(Turn(state, earlier, spoken, command, f"{key}-{command.line}", outcome))
        earlier.append(dataclasses.replace(spoken, commands=(command,)))
    if has_periods(state.config):
        await complete_periods(state)


def _history_before(history: list[Spoken], spoken: Spoken) -> list[Spoken]:
    """The commands written before `spoken` (the body first, then older comments)."""
    if spoken.comment_id is None:
        return []
    return [s for s in history if s.comment_id is None or s.comment_id < spoken.comment_id]


async def _run_one(turn: Turn) -> None:
    state, spoken, command = turn.state, turn.spoken, turn.command
    config, verb = state.config, command.verb
    if verb == "help":
        await turn.say(help_text(config))
        return
    if verb == "status":
        return  # the status comment is refreshed after every command
    if verb == "explain":
        await _explain(turn)
        return
    if verb == UNDO:
        await _undo(turn)
        return
    if verb in PERIOD_VERBS and has_periods(config):
        await run_period_command(turn)
        return
    if verb in LINK_VERBS:
        await turn.refuse("`link` and `unlink` are for implementation PRs.")
        return
    if verb in RELEASE_VERBS and opt_in_rule(config) is not None:
        await run_on_pull(turn)  # `track`, `untrack` (docs/design.md B10)
        return
    if not _is_transition_verb(config, verb):
        suggestions = ", ".join(f"`{v}`" for v in closest(config, verb)) or "none"
        await turn.refuse(
            f"Unknown command `{quote_user_text(verb, 40)}`. Closest: {suggestions}. "
            f"`/{config.command} help` lists them all."
        )
        return
    if not state.pairs:
        await turn.refuse(NO_PROPOSAL)
        return
    moves: list[Move] = []  # what this command writes: one commit for all (B3)
    numbered: list[str] = []  # proposals an accept numbers, in the same commit
    for pair in state.pairs:
        if pair.head is None:
            continue
        current = (await permissions.replay(state, pair.path, turn.earlier)).status
        transition = transition_for(config, verb, current)
        where = reply_key(turn.key, pair.path)
        if transition is None:
            allowed = ", ".join(next_statuses(config, current)) or "none (the status is final)"
            state_text = code_span(current) if current else "a new proposal"
            text = (
                f"{code_span(pair.path)} is {state_text}; `{verb}` does not apply. "
                f"Allowed next: {allowed}."
            )
            await turn.refuse(text, where)
            continue
        if transition.period is not None:
            await turn.refuse(needs_period(config, verb, transition), where)
            continue
        grant = await permissions.can(state, spoken.login, transition, pair.path)
        if not grant.granted:
            who = await permissions.who_can(state, transition, pair.path)
            await turn.refuse(f"Not applied: {grant.reason}.\n\n{who}", where)
            continue
        argument = " ".join(without_dry_run(command).args) if transition.argument else None
        if transition.argument and not argument:
            usage = f"/{config.command} {verb} <{transition.argument}>"
            await turn.refuse(f"`{verb}` needs an argument: `{usage}`.", where)
            continue
        if transition.to in config.implementations.require_merged and pair.head is not None:
            pending = await links.unmerged_links(state.ctx, state.repo, pair.head)
            if pending:
                listed = ", ".join(quote_user_text(p, 80) for p in pending)
                text = f"Not applied: linked implementation PRs are not merged yet: {listed}."
                await turn.refuse(text, where)
                continue
        if is_dry_run(command):
            await _dry_run(turn, pair.path, transition, argument, where)
            continue
        full = await permissions.replay(state, pair.path)
        mine = _step_of(full.steps, spoken, command)
        if mine is not None and mine.waiting:
            votes = permissions.votes(state, transition, pair.path, full)
            text = f"Recorded {code_span('@' + normalize(spoken.login))}'s `{verb}`. {votes}"
            await turn.say(text, where)
            continue
        # The status every authorised command so far leads to: when deliveries are handled
        # out of order, a later decision must not be undone by an earlier one.
        target = full.status or transition.to
        moves.append(Move(pair.path, target, argument, where))
        if config.numbering.when == "accept" and "accept" in transition.verbs:
            numbered.append(pair.path)
    # The numbers an accept gives go in the same commit as the statuses (B3, B4).
    numbering = (
        await accept_numbering(state.ctx, state.repository, state.pull, numbered)
        if numbered
        else None
    )
    await write_statuses(state, moves, command, numbering)


def _step_of(steps: list[Step], spoken: Spoken, command: Command) -> Step | None:
    """The replayed step of `command` as `spoken` wrote it, if replay saw it."""
    for step in steps:
        if step.spoken.comment_id == spoken.comment_id and step.command == command:
            return step
    return None


async def _dry_run(
    turn: Turn, path: str, transition: Transition, argument: str | None, key: str
) -> None:
    """Reply with what the command would change, changing nothing."""
    state = turn.state
    tried = [
        *turn.earlier,
        dataclasses.replace(turn.spoken, commands=(without_dry_run(turn.command),)),
    ]
    replayed = await permissions.replay(state, path, tried)
    last = replayed.steps[-1] if replayed.steps else None
    if last is not None and last.waiting:
        votes = permissions.votes(state, transition, path, replayed)
        await turn.say(f"Dry run: this would record a vote and change nothing yet. {votes}", key)
        return
    before = state.trees.head.read(path) or ""
    after = editor(state.config, transition.to, argument, state.ctx.clock())(before)
    if after is None or after == before:
        text = f"Dry run: {code_span(path)} would not change."
    else:
        diff = unified_diff(path, before, after)
        text = f"Dry run: nothing was changed. This would commit:\n\n{fenced(diff, 'diff')}"
    await turn.say(text, key)


async def _explain(turn: Turn) -> None:
    """Reply how each transition's roles resolve for a person (the commenter by default)."""
    state, command = turn.state, turn.command
    named = command.args[0] if command.args else turn.spoken.login
    if not LOGIN.fullmatch(named):
        await turn.refuse(f"{code_span(quote_user_text(named, 40))} is not a GitHub login.")
        return
    if not state.pairs:
        await turn.refuse(NO_PROPOSAL)
        return
    who = normalize(named)
    lines = [f"How the roles resolve for {code_span('@' + who)}:"]
    for pair in state.pairs:
        lines += ["", f"{code_span(pair.path)}:", ""]
        for transition in state.config.transitions:
            grant = await permissions.can(state, who, transition, pair.path)
            verb = (transition.verbs or [transition.to])[0]
            roles = ", ".join(transition.roles)
            mark = "granted" if grant.granted else "denied"
            lines.append(
                f"- `/{state.config.command} {verb}` → {code_span(transition.to)} "
                f"(roles: {roles}): **{mark}**: {grant.reason}"
            )
    await turn.say("\n".join(lines))


async def _undo(turn: Turn) -> None:
    """Undo the latest applied step of each proposal (replay does the same with this
    command): allowed to whoever gave that step's command and to an approver. Every
    proposal undone goes back in one commit."""
    state, undone = turn.state, []
    for pair in state.pairs:
        if pair.head is None:
            continue
        where = reply_key(turn.key, pair.path)
        target = undoable((await permissions.replay(state, pair.path, turn.earlier)).steps)
        if target is None or target.transition is None:
            continue
        grant = await may_undo(permissions.checker(state), turn.spoken.login, target, pair.path)
        if not grant.granted:
            text = (
                f"Not undone: {grant.reason}. Only {code_span('@' + target.spoken.login)} "
                f"(who gave {code_span(target.command.raw)}) or an approver may undo it."
            )
            await turn.refuse(text, where)
            continue
        undone.append(Move(pair.path, target.transition.to, None, where))
    if undone:
        await _revert(state, undone, turn.command)
    elif not turn.outcome.refused:
        await turn.refuse("Nothing to undo: no command has moved a proposal.")


UNDO_OF = " ← undo of "


def _undone_of(config: Config, message: str) -> set[tuple[str, str]]:
    """The (path, commit) pairs an undo commit of the bot's reverted (commit: 12 hex)."""
    first, _, rest = message.partition("\n")
    lines = [first.removeprefix(f"{config.kind}: ")] if first.startswith(config.kind) else []
    found = set()
    for line in [*lines, *rest.splitlines()]:
        path, arrow, sha = line.rpartition(UNDO_OF)
        if arrow and path and re.fullmatch(r"[0-9a-f]{12}", sha):
            found.add((path, sha))
    return found


def _undo_message(config: Config, picks: dict[str, tuple[str, str, Move]], raw: str) -> str:
    requested = f"Requested with `{raw}`."
    lines = [f"{path}{UNDO_OF}{sha[:12]}" for path, (sha, _, _) in picks.items()]
    if len(lines) == 1:
        return f"{config.kind}: {lines[0]}\n\n{requested}"
    head = f"{config.kind}: {len(lines)} proposals ← undo"
    return "\n".join([head, "", *lines, "", requested])


async def _revert(state: PullState, moves: list[Move], command: Command) -> None:
    """For each move (a proposal and the status a step moved it to), put the files of the
    bot's latest commit moving it there (one not undone yet) back to their exact bytes
    before it, conditionally: only while they still hold what that commit wrote. One commit
    for all; a proposal with no such commit (its step changed no file) is left as it is."""
    github, config = state.ctx.github, state.config
    commits = await state.ctx.github.pull_commits(state.repo, state.number)
    undone: set[tuple[str, str]] = set()
    for commit in commits:
        undone |= _undone_of(config, str(commit["commit"]["message"]))
    picks: dict[str, tuple[str, str, Move]] = {}  # path → (commit, its parent, move)
    for move in moves:
        found = next(
            (
                c
                for c in reversed(commits)
                if move.path in moves_of(config, str(c["commit"]["message"]))
                and (move.path, str(c["sha"])[:12]) not in undone
            ),
            None,
        )
        moved = moves_of(config, str(found["commit"]["message"])) if found else {}
        if found is not None and moved[move.path] == move.status and found["parents"]:
            picks[move.path] = (str(found["sha"]), str(found["parents"][0]["sha"]), move)
    if not picks:
        return
    head = state.pull["head"]
    fork = head.get("repo")
    head_repo = (fork["full_name"] if fork else None) or state.repo
    listings: dict[str, Listing] = {}
    changed_since: dict[str, list[str]] = {}
    renamed: set[str] = set()  # proposals that commit gave a number (and a new name)

    async def listing_at(sha: str) -> Listing:
        if sha not in listings:
            listings[sha] = await github.tree(head_repo, sha)
        return listings[sha]

    async def plan(snapshot: Snapshot) -> dict[str, str | None] | None:
        changes: dict[str, str | None] = {}
        changed_since.clear()
        renamed.clear()
        now = await snapshot.listing()
        for path, (sha, parent, _) in picks.items():
            written, before = await asyncio.gather(listing_at(sha), listing_at(parent))
            mine: dict[str, str | None] = {}
            for name in dict.fromkeys([path, document_path(config.proposals, path)]):
                was, prior = written.blobs.get(name), before.blobs.get(name)
                if was is None and prior is not None:
                    # that commit renamed it (a number given at accept): putting the old
                    # file back would leave the proposal twice
                    renamed.add(path)
                    changed_since[path] = [name]
                    break
                if now.blobs.get(name) != was:
                    changed_since[path] = [name]
                    break
                if was != prior:
                    data = await github.blob(head_repo, prior) if prior else None
                    mine[name] = data.decode("utf-8") if data is not None else None
            else:
                changes.update(mine)
        return changes or None

    message = _undo_message(config, picks, command.raw)
    try:
        expected = Expected(str(head["sha"]))
        result = await github.commit(head_repo, head["ref"], plan, message, expected=expected)
    except (BranchProtected, RepoConflict, BadRequest) as error:
        log.info("cannot undo on %s (%s)", head_repo, error)
        for sha, _, move in picks.values():
            text = f"The bot cannot push to this branch: please revert commit {sha[:12]} by hand."
            await reply(state, f"{move.key}-undo", command, text)
        return
    for path, names in changed_since.items():
        sha, _, move = picks[path]
        listed = ", ".join(code_span(name) for name in names)
        text = f"Not reverted: {listed} changed after commit {sha[:12]}; edit it by hand."
        if path in renamed:
            text = (
                f"Not reverted: commit {sha[:12]} gave {listed} its number and renamed it; "
                "put it back by hand."
            )
        await reply(state, f"{move.key}-undo", command, text)
    state.trees.moved(result.parent, result.commit)
    for name, content in result.changes.items():
        if content is not None:
            record_write(state, name, content, result.commit)


def reply_marker(spoken: Spoken, edit: str | None = None) -> str:
    """The marker of the one reply a comment (or the body) gets; an edit's own (`edit`: a
    digest of the edited text) for the commands the author's edit added."""
    where = f"c{spoken.comment_id or 'body'}"
    return f"{where}-{edit}" if edit else where


async def handle(
    ctx: HandlerContext,
    repo: Repository,
    number: int,
    spoken: Spoken,
    commands: list[Command],
    claim_first: bool,
    *,
    edit: str | None = None,
) -> None:
    """Claim (the 👀 reaction acknowledges the command), run, refresh the check, the labels and
    the status comment from the state the commands left, then mark the outcome (👍 or 👎):
    reconcile runs again what was claimed but never marked. Whatever the commands answer is
    one reply (see `reply_marker`), within the commenter's reply budget.

    The PR is the one read earlier in this delivery when there is one (else read now); its
    files and comments are read while claiming, and nothing is written before the claim."""
    name = repo["full_name"]
    target = {"comment_id": spoken.comment_id} if spoken.comment_id else {"number": number}
    pull = await take_pull(ctx, name, number)
    claimed, state = await asyncio.gather(
        ctx.github.claim(name, comment_id=spoken.comment_id, number=target.get("number"))
        if claim_first
        else _true(),
        read_state(ctx, repo, pull),
    )
    if not claimed:
        log.info("commands of %s already handled elsewhere", target)
        return
    if state is None:
        await ctx.github.react(name, content="confused", **target)
        return
    state.labels = [str(label["name"]) for label in pull.get("labels") or []]
    outcome = Outcome()
    state.answers = {}
    await apply_commands(state, spoken, commands, outcome)
    await post_answers(state, spoken.login, reply_marker(spoken, edit))
    done = ctx.github.react(name, content=DONE[1] if outcome.refused else DONE[0], **target)
    if state.stale:
        fresh = await ctx.github.pull(name, number)
        await asyncio.gather(check_pull_request(ctx, repo, fresh), done)
    else:
        await asyncio.gather(check_state(state), done)


async def _true() -> bool:
    return True


async def _words(ctx: HandlerContext, repo: Repository, config: Config | None) -> list[str]:
    """The command words a comment on `repo` may use: its own and those of the proposals
    repositories its implementation PRs link to."""
    words = [config.command] if config is not None else []
    words += [target.config.command for target in await links.targets_for(ctx, repo)]
    return list(dict.fromkeys(word.lower() for word in words))


def _sender(data: dict[str, Any]) -> str:
    return str((data.get("sender") or {}).get("login") or "")


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
async def on_comment(event: sansio.Event, ctx: HandlerContext) -> None:
    """A comment's commands run as its author's. An edit runs the commands it added only
    when its sender is the comment's author; either way the bot records what the comment
    counts for from then on (bot.handlers.authorship), for proposal and implementation PRs
    alike, before bot.handlers.links sees the same delivery."""
    data = event.data
    issue: Issue = data["issue"]
    comment: Comment = data["comment"]
    repo: Repository = data["repository"]
    if not issue.get("pull_request") or is_bot(comment.get("user")):
        return
    result = await load_config(ctx, repo)
    body = comment.get("body") or ""
    number = int(issue["number"])
    edit: str | None = None
    if data["action"] == "edited":
        before = ((data.get("changes") or {}).get("body") or {}).get("from") or ""
        if not (may_hold_command(before) or may_hold_command(body)):
            return
        words = await _words(ctx, repo, result.config)
        seen = await see_comment_edit(
            ctx, str(repo["full_name"]), number, comment, before, _sender(data), words
        )
        if seen.foreign or result.config is None:
            return
        word = result.config.command.lower()
        commands = [command for used, command in seen.added if used == word]
        edit = edit_digest(body)
    elif result.config is None:
        return  # the check run on the PR reports the broken configuration
    else:
        commands = parse_commands(body, result.config.command)
    if not commands:
        return
    if await links.is_implementation_pull(ctx, repo, number, body):
        return  # bot.handlers.links runs the commands of implementation PRs
    login, comment_id = login_of(comment["user"]), int(comment["id"])
    spoken = Spoken(login, tuple(commands), comment_id, *written(comment))
    created = data["action"] == "created"
    await handle(ctx, repo, number, spoken, commands, created, edit=edit)


@router.register("pull_request", action="opened")
async def on_opened(event: sansio.Event, ctx: HandlerContext) -> None:
    """Commands in the body of a new pull request run as if commented by its author; the bot
    records them first, as replay counts a description only through that record."""
    pull: Pull = event.data["pull_request"]
    repo: Repository = event.data["repository"]
    result = await load_config(ctx, repo)
    if result.config is None or is_bot(pull.get("user")):
        return
    body = pull.get("body") or ""
    head_sha = pull["head"]["sha"]
    number = int(pull["number"])
    if await links.is_implementation_pull(ctx, repo, number, body, head_sha=head_sha):
        return
    word = result.config.command
    commands = parse_commands(pull.get("body") or "", word)
    if commands:
        await record_body(ctx, str(repo["full_name"]), pull, [(word, c) for c in commands])
        opened = written(pull)[0]
        spoken = Spoken(str(pull["user"]["login"]), tuple(commands), None, opened)
        await handle(ctx, repo, int(pull["number"]), spoken, commands, claim_first=True)


@router.register("pull_request", action="edited")
async def on_edited(event: sansio.Event, ctx: HandlerContext) -> None:
    """A description edited by someone other than the PR's author to add commands: nothing
    runs (a description's commands run only when the PR is opened); the bot says so once."""
    data = event.data
    pull: Pull = data["pull_request"]
    repo: Repository = data["repository"]
    change = (data.get("changes") or {}).get("body")
    if not change or is_bot(pull.get("user")):
        return
    before, body = str(change.get("from") or ""), str(pull.get("body") or "")
    if not may_hold_command(body):
        return
    words = await _words(ctx, repo, (await load_config(ctx, repo)).config)
    await see_body_edit(ctx, str(repo["full_name"]), pull, before, _sender(data), words)
