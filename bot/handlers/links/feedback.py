"""What an implementation pull request shows of its links: comment, label, check, tracking rows.

`refresh_pull` derives the PR's links (`derive`) and writes them: the link label, ONE
link comment (marker `link`, edited in place) naming each proposal with its title and
status and every reference that names none, and the check `kepbot/link`, which fails where
the proposals repository's configuration says so (`require-link`, `require-status`). It
also writes the PR's row in each of its proposals' tracking comments (`bot.github.tracking`
owns that comment) and removes the rows of links that are gone: the link comment's data
block remembers which tracking comments the PR has rows in. A private PR gets no row in a
public proposal's tracking comment (`targets.shows`); its link comment says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.engine.roles import one_of
from bot.github.check_run import CheckOutput
from bot.github.comments import quote_user_text
from bot.github.labels import LabelSpec, Managed
from bot.github.shapes import Pull, Repository
from bot.github.tracking import Row, data_block, read_data
from bot.handlers.context import HandlerContext
from bot.handlers.links.derive import Links, derive_links
from bot.handlers.links.resolver import Found, Resolver
from bot.handlers.links.targets import (
    is_private,
    is_proposal_pull,
    own_target,
    shows,
    targets_for,
)
from bot.handlers.pr_state import read_thread

__all__ = ["CHECK_NAME", "LINK_MARKER", "pull_state", "refresh_pull"]

CHECK_NAME = "kepbot/link"
LINK_MARKER = "link"
UNLISTED = (
    "This repository is private: the tracking comments of proposals in public repositories "
    "do not list this pull request, and their processes do not wait for it."
)


def pull_state(pull: Pull) -> str:
    return "merged" if pull.get("merged") else str(pull.get("state") or "open")


def _describe(found: Found) -> str:
    status = quote_user_text(found.proposal.status or "unknown", 40)
    title = quote_user_text(found.title, 120)
    line = f"- [{found.label}: {title}]({found.url}) ({found.target.repo}), status **{status}**"
    if found.pull is not None:
        line += f"; still under review in {found.target.repo}#{found.pull}"
    return line


def _link_comment(links: Links, tracked: Iterable[tuple[str, int]], unlisted: bool) -> str:
    word = links.targets[0].config.command
    lines = ["**Implements**" if links.found else "This pull request links no proposal."]
    if links.found:
        lines += ["", *(_describe(found) for found in links.found)]
    if links.unknown:
        lines += ["", "**Unresolved references** (they name no proposal):", ""]
        lines += [f"- {quote_user_text(ref.text, 120)}: {why}" for ref, why in links.unknown]
    if unlisted:
        lines += ["", UNLISTED]
    lines += [
        "",
        f"Change the links in the description, or with `/{word} link <ref>` and "
        f"`/{word} unlink <ref>` (the pull request's author and the proposal's approvers).",
        "",
        data_block({"tracked": sorted([repo, number] for repo, number in tracked)}),
    ]
    return "\n".join(lines)


def _problems(links: Links) -> list[str]:
    problems = []
    requiring = [t for t in links.targets if t.config.implementations.require_link]
    if requiring and not links.found:
        kinds = one_of(dict.fromkeys(t.config.kind for t in requiring))
        prefix = requiring[0].config.implementations.prefix
        problems.append(f"This pull request must link a {kinds}: write e.g. `{prefix}-1234`.")
    for found in links.found:
        allowed = found.target.config.implementations.require_status
        status = found.proposal.status or ""
        if not allowed:
            continue
        if found.pull is not None:
            problems.append(f"{found.label} is not merged yet; it must be {one_of(allowed)}.")
        elif status.lower() not in {s.lower() for s in allowed}:
            shown = quote_user_text(status or "without a status", 40)
            problems.append(f"{found.label} is {shown}; implementing it needs {one_of(allowed)}.")
    return problems


def _check(links: Links) -> CheckOutput:
    problems = _problems(links)
    linked = ", ".join(f"{f.label} ({f.proposal.status or 'unknown'})" for f in links.found)
    title = f"Linked to {linked}" if linked else "No proposal linked"
    lines = [_describe(found) for found in links.found] or ["No proposal is linked."]
    if problems:
        lines += ["", "**Problems:**", "", *(f"- {p}" for p in problems)]
    conclusion = "failure" if problems else "success"
    return CheckOutput(conclusion, title[:200], "\n".join(lines), [])


async def _labels(ctx: HandlerContext, repo: str, number: int, links: Links) -> None:
    specs = {t.config.labels.link.name: t.config.labels.link for t in links.targets}
    wanted: dict[str, LabelSpec] = {}
    for found in links.found:
        spec = found.target.config.labels.link
        wanted[spec.name] = spec
    managed = Managed(names=frozenset(specs))
    await ctx.github.sync_labels(repo, number, wanted, managed)


async def refresh_pull(
    ctx: HandlerContext,
    repo: Repository,
    pull: Pull,
    *,
    resolvers: dict[str, Resolver] | None = None,
) -> Links | None:
    """Derive the PR's links and write the label, link comment, check and tracking rows.

    None when the PR is not an implementation PR. Nothing is written on a PR that has no
    link, no unresolved reference, no earlier link comment and no `require-link` to meet.
    `resolvers` (by proposals repository) are shared by PRs refreshed together.
    """
    name, number = str(repo["full_name"]), int(pull["number"])
    targets = await targets_for(ctx, repo)
    if not targets:
        return None
    own = await own_target(ctx, repo)
    if own is not None and await is_proposal_pull(ctx, own, number, str(pull["head"]["sha"])):
        return None
    thread = await read_thread(ctx, name, number)
    links = await derive_links(ctx, pull, thread, targets, resolvers)
    previous = await ctx.github.find_comment(name, number, LINK_MARKER, ctx.bot_login, thread)
    required = any(t.config.implementations.require_link for t in targets)
    if not (links.found or links.unknown or previous is not None or required):
        return links
    before = read_data(str(previous.get("body") or "")) if previous else {}
    private = is_private(repo)
    unlisted = any(not shows(name, private, f.target.repo, f.target.private) for f in links.found)
    tracked = await _track(ctx, pull, name, private, links, before)
    if links.found or links.unknown or previous is not None:
        await _labels(ctx, name, number, links)
        body = _link_comment(links, tracked, unlisted)
        await ctx.github.upsert_comment(name, number, LINK_MARKER, body, ctx.bot_login, thread)
    if pull.get("state") == "open":
        output, sha = _check(links), str(pull["head"]["sha"])
        if ctx.app_mode:
            await ctx.github.publish_check(name, sha, output, name=CHECK_NAME)
        else:
            await ctx.github.publish_status(name, sha, output, name=CHECK_NAME)
    return links


def _heading(found: Sequence[Found]) -> str:
    names = ", ".join(f"{f.label}: {quote_user_text(f.title, 120)}" for f in found)
    return f"**Implementation pull requests** of {names} (kept up to date by kepbot)"


async def _track(
    ctx: HandlerContext,
    pull: Pull,
    name: str,
    private: bool,
    links: Links,
    before: dict[str, Any],
) -> list[tuple[str, int]]:
    """Write this PR's row where its proposals are tracked; remove it where they no longer are.

    A proposal in a repository that may not show this PR (`shows`: a private PR, a public
    proposal) is not tracked: a row written there earlier is removed like a gone link's.
    When some proposal's place could not be looked up now (the search budget), the rows
    written earlier stay, and stay remembered, until a later event knows better.
    """
    at: dict[tuple[str, int], list[Found]] = {}
    unsure = False
    for found in links.found:
        if not shows(name, private, found.target.repo, found.target.private):
            continue
        resolver = links.resolver(ctx, found.target)
        where = await resolver.location(found)
        if where is not None:
            at.setdefault((found.target.repo, where), []).append(found)
        unsure = unsure or resolver.deferred
    number = int(pull["number"])
    state = pull_state(pull)
    merged_at = pull.get("merged_at") if state == "merged" else None  # for KEP-1's metrics
    row = Row(name, number, state, str(pull.get("title") or ""), merged_at or None)
    for (repo, where), founds in at.items():
        await ctx.github.set_rows(
            repo,
            where,
            ctx.bot_login,
            pull=(name, number),
            rows=[row],
            heading=_heading(founds),
        )
    current = {(repo.lower(), where) for repo, where in at}
    kept: list[tuple[str, int]] = []
    for item in before.get("tracked") or []:
        if not (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], int)
            and (item[0].lower(), item[1]) not in current
        ):
            continue
        if unsure:
            kept.append((item[0], item[1]))
            continue
        await ctx.github.set_rows(
            item[0], item[1], ctx.bot_login, pull=(name, number), rows=[], heading=None
        )
    return [*at, *kept]
