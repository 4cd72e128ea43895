"""Proposal pull requests: validate what they change and report it as a check run (B1)."""

from __future__ import annotations

import logging
from typing import Any

from gidgethub import routing, sansio

from bot.check_output import check_output
from bot.engine.validate import Report, validate_change
from bot.github.feedback import publish_check, publish_status
from bot.github.pull_request import change_trees
from bot.github.repo_config import load_repo_config
from bot.handlers.context import HandlerContext

router = routing.Router()
log = logging.getLogger(__name__)


async def check_pull_request(
    ctx: HandlerContext, repo: dict[str, Any], pull: dict[str, Any]
) -> int | None:
    """Validate the proposals `pull` touches and publish one check run on its head commit."""
    name = repo["full_name"]
    result = await load_repo_config(ctx.gh, name, repo["default_branch"], cache=ctx.config_cache)
    if result.config is None:
        error = result.error.render() if result.error is not None else "unknown error"
        output = check_output(Report(), config_error=f"{result.repository}: {error}")
    else:
        trees = await change_trees(ctx.gh, name, pull, result.config)
        report = validate_change(result.config, trees.head, trees.base, trees.changed)
        output = check_output(report)
    if not ctx.app_mode:
        await publish_status(ctx.gh, name, pull["head"]["sha"], output)
        return None
    run_id = await publish_check(ctx.gh, name, pull["head"]["sha"], output)
    log.info(
        "check run %s on %s#%s: %s (%s)",
        run_id,
        name,
        pull["number"],
        output.conclusion,
        output.title,
    )
    return run_id


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="edited")
async def on_pull_request(event: sansio.Event, ctx: HandlerContext) -> None:
    pull = event.data["pull_request"]
    if pull.get("state") == "closed":
        return
    await check_pull_request(ctx, event.data["repository"], pull)


@router.register("check_run", action="rerequested")
@router.register("check_suite", action="rerequested")
async def on_rerequest(event: sansio.Event, ctx: HandlerContext) -> None:
    """A person asked for the check again: re-read each PR it belongs to and re-run it."""
    subject = event.data.get("check_run") or event.data.get("check_suite") or {}
    repo = event.data["repository"]
    pulls = subject.get("pull_requests") or []
    if not pulls:
        log.info("re-request for %s has no pull request (a fork's head?)", subject.get("head_sha"))
        return
    for ref in pulls:
        pull = await ctx.gh.getitem(f"/repos/{repo['full_name']}/pulls/{ref['number']}")
        await check_pull_request(ctx, repo, pull)
