"""Edits the process itself asks for on a proposal pull request's branch, made when the pull
request is checked, before its check (docs/design.md B3, B4).

Two of them, each offered once:

- **Numbers when the pull request is opened** (`numbering.when: open`, the `agentic`
  preset: "use a placeholder ... and rename to the PR number when the PR is opened"). A
  proposal the PR adds or changes that still carries a placeholder is numbered on the head
  branch by the numbering job of merges (bot.handlers.numbering_job), in one commit, and
  the PR gets one comment naming the number. A branch that refuses the bot (a fork that
  does not let maintainers push) gets the exact change (the renames and a diff) in one
  comment instead, posted once however often the PR is pushed to (not for `next`
  numbers, which nothing holds for a fork); what is left a placeholder is numbered at
  merge, as for a PR opened while no bot was running.
- **Back-links** (`validation.backlinks`, the `gep` preset: "The extended GEP MUST have its
  extendedBy field set back to this GEP"). When a proposal of the PR lists another under a
  relationship whose reverse that other one lacks, the bot adds the back-link to the other
  proposal's metadata (bot.engine.relationships.backlink_edits: lines added only) in one
  commit on the head branch when the PR comes from the repository itself, and says so in
  one comment; from a fork (or a branch that refuses the bot), the comment holds the exact
  lines to add. Each back-link (target, relationship, source) is offered once, marked in
  that comment: one a person takes out again is not put back, and the check keeps
  reporting it (`references.backlink`).

Both cost nothing unless what the check read already shows the work (a placeholder under
`numbering.when: open`, a missing back-link): the gates read no more than the PR's state.
After a commit, the PR is read again at the new head (the file list and the files), so the
check is made on what the branch holds.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import logging
import posixpath
from collections.abc import Mapping

from gidgethub import BadRequest

from bot.engine.config import Config
from bot.engine.formats import FormatError
from bot.engine.numbering import format_number
from bot.engine.relationships import Backlink, Relations, backlink_edits, missing_backlinks
from bot.engine.renumber import named_numbers, needs_number, numbered_path
from bot.engine.tree import MemoryTree, Tree
from bot.github.comments import code_span, fenced, marker_tag
from bot.github.repo import BranchProtected, Expected, RepoConflict, Snapshot
from bot.handlers.memory import event_memo
from bot.handlers.numbering_job import Numbering, Outcome
from bot.handlers.numbering_report import numbers_text
from bot.handlers.pr_state import PullState, load_pull_state

__all__ = ["number_on_open", "offer_backlinks", "tend_branch"]

log = logging.getLogger(__name__)

REFUSED = (BranchProtected, RepoConflict, BadRequest)


async def tend_branch(state: PullState) -> PullState:
    """Make the edits the process asks for on the PR's branch; the PR as they left it (read
    again at the new head when the bot committed, else `state` itself)."""
    for step in (number_on_open, offer_backlinks):
        commit = await step(state)
        if commit is not None:
            state = await _read_again(state, commit)
    return state


async def _read_again(state: PullState, commit: str) -> PullState:
    """The PR at `commit`, the head the bot just made: what this delivery kept of the old
    head (its file list, the PR as read) is dropped so that no later handler uses it."""
    ctx, name, number = state.ctx, state.repo, state.number
    pull = copy.deepcopy(state.pull)
    pull["head"]["sha"] = commit
    memo = event_memo(ctx)
    memo.take(("files", name.lower(), number))
    memo.take(("pull", name.lower(), number))
    ctx.github.made_head(name, commit)  # no check run can be on it yet
    fresh = await load_pull_state(ctx, state.repository, pull, state.config)
    fresh.labels = state.labels
    return fresh


def _head_repo(state: PullState) -> str:
    fork = state.pull["head"].get("repo")
    return str((fork["full_name"] if fork else None) or state.repo)


def _expected(state: PullState) -> Expected | None:
    """The head and the files the check read at it, when they are the head's as it stands."""
    sha = str(state.pull["head"]["sha"])
    return Expected(sha, state.trees.versions) if state.trees.read_at == sha else None


async def _offered(state: PullState, marker: str) -> bool:
    """Whether the bot's comment marked `marker` is on the PR (in the thread as read)."""
    ctx = state.ctx
    found = await ctx.github.find_comment(
        state.repo, state.number, marker, ctx.bot_login, state.thread
    )
    return found is not None


async def _post(state: PullState, markers: list[str], body: str) -> None:
    """One comment carrying every marker of `markers` (the first is the one it is posted
    once by; the others are found in it all the same)."""
    ctx = state.ctx
    tags = "\n".join(marker_tag(marker) for marker in markers[1:])
    text = f"{body}\n{tags}" if tags else body
    await ctx.github.post_once(
        state.repo, state.number, markers[0], text, ctx.bot_login, state.thread
    )


def _inert(text: str) -> str:
    """Text from the PR's files, shown in a comment: no line of it can open an HTML comment,
    so none can carry a marker of the bot's comments (docs/security.md)."""
    return text.replace("<!--", "<!\u200d--")


def _diff(before: str, after: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), old, new
    )
    return "".join(lines)


# -- numbers when the PR is opened (docs/design.md B4) ----------------------------------------


def _numbering_marker(number: int) -> str:
    return f"numbers-at-open/{number}"


async def number_on_open(state: PullState) -> str | None:
    """Number the PR's proposals that still carry a placeholder, on its head branch, when
    numbers are given as the PR is opened (`numbering.when: open`); the commit made, None
    when none was (nothing to number, the change offered already, a refused write)."""
    config = state.config
    if config.numbering.when != "open":
        return None
    waiting = sorted(
        pair.path
        for pair in state.pairs
        if pair.head is not None and needs_number(config, pair.head)
    )
    if config.numbering.source == "pr" and len(waiting) > 1:
        return None  # one number for several proposals: the merge says what to do
    marker = _numbering_marker(state.number)
    if not waiting or await _offered(state, marker):
        return None
    ctx, pull = state.ctx, state.pull
    head = pull["head"]
    job = Numbering(
        ctx.github,
        state.repo,
        config,
        pull,
        waiting,
        holder=str(head["sha"]),
        number_now=True,
        reuse_owned=False,
        extra_used=named_numbers(config, state.trees.base.paths()),
    )
    planned: dict[str, str | None] = {}
    before: dict[str, str | None] = {}

    async def plan(snapshot: Snapshot) -> dict[str, str | None] | None:
        changes = await job.plan(snapshot)
        planned.clear()
        planned.update(changes or {})
        before.clear()
        for path in planned:  # read by the plan already: from the client's cache
            before[path] = await snapshot.read(path)
        return changes

    message = "\n".join(
        [f"Assign the proposal number on the branch of #{state.number}", "", *waiting]
    )
    try:
        result = await ctx.github.commit(
            _head_repo(state), str(head["ref"]), plan, message, expected=_expected(state)
        )
    except REFUSED as error:
        log.info("%s#%s: cannot number on the branch (%s)", state.repo, state.number, error)
        await job.give_back(Outcome())
        # A `next` number is held only while its reservation is: it is not offered.
        if job.assigned and planned and config.numbering.source != "next":
            await _post(state, [marker], _rename_text(config, job.assigned, planned, before))
        return None
    outcome = job.outcome(result, str(head["ref"]))
    await job.give_back(outcome)
    if job.problems:
        log.info("%s#%s: not numbered at opening: %s", state.repo, state.number, job.problems)
    if result.commit is None or not outcome.numbers:
        return None
    lines = [
        "Numbered as this pull request was opened, in one commit on its branch:",
        "",
        *numbers_text(config, state.repository, outcome),
        "",
        "Pull the branch before pushing again.",
    ]
    await _post(state, [marker], "\n".join(lines))
    return result.commit


def _renames(config: Config, assigned: Mapping[str, int]) -> dict[str, str]:
    """Where each proposal's file or folder goes: old → new."""
    moved: dict[str, str] = {}
    for path, number in sorted(assigned.items()):
        target = numbered_path(config, path, number)
        if target is None:
            continue
        if config.proposals.name_of == "folder":
            moved[posixpath.dirname(path)] = posixpath.dirname(target)
        else:
            moved[path] = target
    return moved


def _rename_text(
    config: Config,
    assigned: Mapping[str, int],
    planned: Mapping[str, str | None],
    before: Mapping[str, str | None],
) -> str:
    """The numbering change as a person applies it: the renames, then each file's diff."""
    moved = _renames(config, assigned)
    numbers = ", ".join(
        f"{config.implementations.prefix}-{format_number(config, n)}"
        for n in sorted(set(assigned.values()))
    )
    commands = "\n".join(f"git mv {old} {new}" for old, new in moved.items())

    def origin(path: str) -> str:
        for old, new in moved.items():
            if path == new or path.startswith(new + "/"):
                return old + path[len(new) :]
        return path

    diffs = []
    for path, text in sorted(planned.items()):
        if text is None:
            continue
        old = origin(path)
        diffs.append(_diff(before.get(old) or "", text, old, path))
    return (
        f"This proposal's number is {numbers}, and the bot cannot push to this pull "
        "request's branch. Please rename it and apply this change (else the number is given "
        "when the pull request merges):\n\n"
        f"{fenced(_inert(commands), 'sh')}\n\n{fenced(_inert(''.join(diffs)), 'diff')}"
    )


# -- back-links (docs/design.md B3) -----------------------------------------------------------


def _backlink_marker(gap: Backlink) -> str:
    """One back-link (target, relationship, source): paths may hold any character."""
    key = f"{gap.target}\0{gap.reverse}\0{gap.source_number}".encode()
    return f"backlink/{hashlib.sha1(key).hexdigest()[:12]}"


def _key(gap: Backlink) -> tuple[str, str, int]:
    return gap.target, gap.reverse, gap.source_number


async def offer_backlinks(state: PullState) -> str | None:
    """Offer the back-links that the relationships of the PR's proposals need and that
    their other proposals lack, once each; the commit made on the branch, if one was."""
    config = state.config
    if not config.validation.backlinks.reverse():
        return None
    own = set(state.trees.proposals)
    try:
        gaps = [
            gap
            for gap in missing_backlinks(config, state.trees.head, own)
            if gap.link.source in own
        ]
    except LookupError:  # a file the check did not read: the check reports what it can
        return None
    fresh = [gap for gap in gaps if not await _offered(state, _backlink_marker(gap))]
    if not fresh:
        return None
    markers = [_backlink_marker(gap) for gap in fresh]
    if _head_repo(state).lower() == state.repo.lower():
        try:
            commit = await _commit_backlinks(state, fresh)
        except REFUSED as error:
            log.info("%s#%s: cannot write back-links (%s)", state.repo, state.number, error)
        except (FormatError, ValueError) as error:
            log.info("%s#%s: back-links not written: %s", state.repo, state.number, error)
            return None
        else:
            if commit is not None:
                await _post(state, markers, _written_text(config, fresh, commit))
            return commit
    try:
        edits = backlink_edits(config, state.trees.head, fresh)
    except (FormatError, ValueError, LookupError) as error:
        log.info("%s#%s: back-links not offered: %s", state.repo, state.number, error)
        return None
    await _post(state, markers, _suggested_text(config, fresh, state.trees.head, edits))
    return None


async def _commit_backlinks(state: PullState, gaps: list[Backlink]) -> str | None:
    """The back-links `gaps` name, in one commit on the head branch: planned on the branch
    as it is (a back-link present there already is not written again)."""
    config = state.config
    wanted = {_key(gap) for gap in gaps}
    sources = sorted({gap.link.source for gap in gaps})
    files = sorted({*sources, *(gap.target for gap in gaps)})

    async def plan(snapshot: Snapshot) -> dict[str, str | None] | None:
        texts = {}
        for path in files:
            text = await snapshot.read(path)
            if text is not None:
                texts[path] = text
        tree = MemoryTree(texts)
        missing = [g for g in Relations(config, tree, texts).missing(sources) if _key(g) in wanted]
        edits: dict[str, str | None] = dict(backlink_edits(config, tree, missing))
        return edits or None

    targets = sorted({gap.target for gap in gaps})
    lines = [
        f"{gap.target}: {_relation(config, gap.reverse)} + {_label(config, gap)}" for gap in gaps
    ]
    first = (
        f"{config.kind}: back-link in {targets[0]}"
        if len(targets) == 1
        else f"{config.kind}: back-links in {len(targets)} proposals"
    )
    message = "\n".join([first, "", *lines, "", f"Offered by the check of #{state.number}."])
    head = state.pull["head"]
    result = await state.ctx.github.commit(
        state.repo, str(head["ref"]), plan, message, expected=_expected(state)
    )
    return result.commit


def _relation(config: Config, key: str) -> str:
    under = config.validation.backlinks.under
    return f"{under}.{key}" if under else key


def _label(config: Config, gap: Backlink) -> str:
    return f"{config.kind}-{gap.source_number}"


def _why(config: Config, gap: Backlink) -> str:
    source = _label(config, gap)
    return (
        f"{code_span(gap.link.source)} ({source}) lists it under "
        f"{code_span(_relation(config, gap.link.relation))}"
    )


def _written_text(config: Config, gaps: list[Backlink], commit: str) -> str:
    lines = [
        f"A relationship is recorded on both {config.kind}s, so the bot added the missing "
        f"back-links on this branch (commit {commit[:12]}):",
        "",
    ]
    lines += [
        f"- {code_span(gap.target)}: {code_span(_relation(config, gap.reverse))} now lists "
        f"{_label(config, gap)}, as {_why(config, gap)}."
        for gap in gaps
    ]
    lines += ["", "Pull the branch before pushing again; the bot adds each back-link once."]
    return "\n".join(lines)


def _suggested_text(
    config: Config, gaps: list[Backlink], tree: Tree, edits: Mapping[str, str]
) -> str:
    lines = [
        f"A relationship is recorded on both {config.kind}s, and the bot cannot push to this "
        "pull request's branch. Please add the missing back-links:",
        "",
    ]
    lines += [
        f"- {code_span(gap.target)}: {code_span(_relation(config, gap.reverse))} must list "
        f"{_label(config, gap)}, as {_why(config, gap)}."
        for gap in gaps
    ]
    for path, text in sorted(edits.items()):
        lines += ["", fenced(_inert(_diff(tree.read(path) or "", text, path, path)), "diff")]
    return "\n".join(lines)
